/* The office page, signed in as a staff user: the office (its own, from the session; an
   administrator chooses one), its queue and the steps on each request. */
"use strict";

(function () {
  const { h, api, bi, label, serviceName, resultName, showApiProblem, hideProblem, dateTime, busy, reference } = window.NL;
  const $ = (id) => document.getElementById(id);
  const RECEIVERS = ["receive-for-other", "both"];
  const DECIDERS = ["decide-here", "both"];
  let office = null; // {locality, authority}
  let offset = 0;
  let total = 0;
  let selected = null; // the queue row being handled

  function filters() {
    const params = new URLSearchParams();
    for (const name of ["state", "overdue", "role"]) {
      const value = $("filter-" + name).value;
      if (value) params.set(name, value);
    }
    params.set("limit", $("filter-limit").value);
    params.set("offset", String(offset));
    return params;
  }

  async function loadQueue() {
    const problem = $("office-problem");
    hideProblem(problem);
    const path = "/offices/" + encodeURIComponent(office.locality) + "/" + encodeURIComponent(office.authority) + "/queue?" + filters();
    try {
      const page = await api("GET", path, null);
      total = page.total;
      renderRows(page);
      renderWarnings(page.delivery_warnings || []);
      $("queue-section").hidden = false;
    } catch (error) {
      showApiProblem(problem, error);
    }
  }

  function renderRows(page) {
    const body = $("queue-rows");
    body.replaceChildren();
    if (!page.rows.length) {
      body.append(h("tr", {}, h("td", { colSpan: 6, className: "muted" }, bi("队列为空", "Nothing in this queue"))));
    }
    for (const row of page.rows) {
      const due = h("span", {}, row.due || "—");
      if (row.due && row.state === "dispatched") due.append(" ", h("span", { className: "muted" }, bi("收件时限", "to accept or notify")));
      if (row.due_provisional) due.append(" ", h("span", { className: "badge", title: "节假日安排未公布 / holidays not yet published" }, bi("暂定", "provisional")));
      if (row.due_soon && !row.overdue) due.append(" ", h("span", { className: "badge" }, bi("临近", "due soon")));
      if (row.overdue) due.append(" ", h("span", { className: "badge state-rejected" }, bi("逾期", "overdue")));
      const button = h("button", { type: "button", className: "secondary small", "aria-label": "办理 Handle " + row.service + " " + row.case_id.slice(0, 8) }, bi("办理", "Handle"));
      button.addEventListener("click", () => openAct(row));
      body.append(
        h(
          "tr",
          {},
          h("th", { scope: "row" }, serviceName(row.service)),
          h("td", {}, h("span", { className: "badge state-" + row.state }, label("state", row.state))),
          h("td", {}, label("role", row.role)),
          h("td", { className: "nowrap" }, due),
          h("td", {}, h("code", { title: row.case_id }, row.case_id.slice(0, 8))),
          h("td", {}, button),
        ),
      );
    }
    const first = page.rows.length ? page.offset + 1 : 0;
    $("page-info").textContent = "第 " + first + "–" + (page.offset + page.rows.length) + " 条，共 " + page.total + " 条 (" + first + "–" + (page.offset + page.rows.length) + " of " + page.total + ")";
    $("page-prev").disabled = page.offset <= 0;
    $("page-next").disabled = page.offset + page.rows.length >= page.total;
    $("queue-status").textContent = "队列已更新 Queue updated " + dateTime(new Date().toISOString());
  }

  // The office's registry systems that need an operator: dead letters, a paused endpoint.
  function renderWarnings(warnings) {
    const box = $("delivery-warnings");
    box.replaceChildren();
    for (const w of warnings) {
      const name = w.label || w.system_id.slice(0, 8);
      const parts = [];
      if (w.dead_letters) parts.push(bi(w.dead_letters + " 条消息未能送达（死信）", w.dead_letters + " undelivered (dead letters)"));
      if (w.circuit !== "closed") parts.push(bi("接口暂停推送，正在探测", "endpoint paused, being probed"));
      box.append(h("p", {}, bi("本窗口系统", "Office system"), " ", h("strong", {}, name), ": ", ...parts.flatMap((part, i) => (i ? ["; ", part] : [part]))));
    }
    box.hidden = !warnings.length;
  }

  async function loadDeliveries(row) {
    const list = $("act-deliveries-list");
    list.replaceChildren();
    $("act-deliveries").hidden = true;
    try {
      const found = await api("GET", "/service-requests/" + row.service_request_id + "/deliveries", null);
      for (const system of found.systems) {
        for (const d of system.deliveries) {
          const when = d.delivered_at ? dateTime(d.delivered_at) : d.next_attempt_at ? h("span", {}, bi("下次", "next"), " ", dateTime(d.next_attempt_at)) : "—";
          list.append(h("li", {}, h("strong", {}, system.label || system.system_id.slice(0, 8)), " · ", d.type, " · ", h("span", { className: "badge" }, d.state), " · ", bi("尝试 " + d.attempts + " 次", d.attempts + " attempts"), " · ", when));
        }
      }
      $("act-deliveries").hidden = !list.children.length;
    } catch (error) {
      /* the queue stays usable without the delivery status */
    }
  }

  // The files the family's supplements cite, as download links: the session's cookie goes
  // with the link (same origin), so a click downloads the file.
  async function loadDocuments(row) {
    const list = $("act-documents-list");
    list.replaceChildren();
    $("act-documents").hidden = true;
    const base = "/service-requests/" + row.service_request_id + "/documents";
    try {
      const found = await api("GET", base, null);
      for (const doc of found.documents) {
        const link = h("a", { href: base + "/" + encodeURIComponent(doc.id), download: savedName(doc) }, doc.name);
        const kb = Math.max(1, Math.round(doc.size / 1024));
        list.append(h("li", {}, link, " ", h("span", { className: "muted" }, doc.type + " · " + kb + " KB")));
      }
      $("act-documents").hidden = !list.children.length;
    } catch (error) {
      /* the request stays workable without its files listed */
    }
  }

  // A file is saved under its stem and the extension of the type the server checked it as
  // (the server's name already ends so; never trust a name to choose how a file opens).
  function savedName(doc) {
    const ext = { "application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png" }[doc.type] || ".bin";
    const stem = String(doc.name || "").replace(/\.[^.]*$/, "").replace(/[. ]+$/, "");
    return (stem || "document") + ext;
  }

  function openAct(row) {
    selected = row;
    hideProblem($("act-problem"));
    const subject = $("act-subject");
    subject.replaceChildren(serviceName(row.service), " · ", h("code", {}, row.case_id.slice(0, 8)), " · ", label("state", row.state));
    const can = {
      "receive-form": row.state === "dispatched" && RECEIVERS.includes(row.role),
      // 一次性告知: at the window before acceptance, or after it (a second one needs a reason)
      "supplement-request-form": row.state === "received" || (row.state === "dispatched" && RECEIVERS.includes(row.role)),
      "approve-form": row.state === "received" && DECIDERS.includes(row.role),
      "reject-form": ["received", "supplement-requested"].includes(row.state) && DECIDERS.includes(row.role),
      "correction-approve-form": row.state === "correction-requested" && DECIDERS.includes(row.role),
      "correction-reject-form": row.state === "correction-requested" && DECIDERS.includes(row.role),
      "revoke-form": row.state === "revocation-requested" && DECIDERS.includes(row.role),
    };
    for (const [id, shown] of Object.entries(can)) {
      $(id).hidden = !shown;
      $(id).reset();
    }
    $("act-none").hidden = Object.values(can).some(Boolean);
    const service = reference.services[row.service] || {};
    const field = service.result_field || "result";
    $("result-label").replaceChildren(resultName(field));
    $("result-field").textContent = field;
    $("act").hidden = false;
    $("act-heading").focus();
    loadDeliveries(row);
    loadDocuments(row);
  }

  function body(action) {
    if (action === "receive") return { receipt_number: $("receipt-number").value.trim() };
    if (action === "request-supplement") {
      const notice = { items: $("supplement-items").value.split("\n").map((line) => line.trim()).filter(Boolean) };
      const reason = $("supplement-reason").value.trim();
      if (reason) notice.reason = reason;
      return notice;
    }
    if (action === "approve" || action === "approve-correction") {
      const field = (reference.services[selected.service] || {}).result_field || "result";
      const input = action === "approve" ? "result-value" : "correction-result-value";
      return { [field]: $(input).value.trim() };
    }
    if (action === "reject-correction") return { reason: $("correction-reject-reason").value.trim() };
    if (action === "revoke") return {};
    const result = { reason: $("reject-reason").value.trim() };
    const basis = $("reject-basis").value.trim();
    if (basis) result.basis = basis;
    return result;
  }

  async function act(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const action = form.dataset.action;
    const problem = $("act-problem");
    hideProblem(problem);
    busy(form, true);
    try {
      const view = await api("POST", "/service-requests/" + selected.service_request_id + "/" + action, null, body(action));
      form.reset();
      selected = Object.assign({}, selected, { state: view.state, due: view.due });
      openAct(selected);
      $("queue-status").replaceChildren(bi("已完成：" + action, "Done: " + action));
      await loadQueue();
    } catch (error) {
      showApiProblem(problem, error);
    } finally {
      busy(form, false);
    }
  }

  $("office-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const locality = $("office-locality").value.trim();
    if (!/^[1-8]\d{5}$/.test(locality)) {
      showApiProblem($("office-problem"), new window.NL.Problem(422, { title: "请填写 6 位区划代码 A 6-digit locality is needed", detail: "" }));
      return;
    }
    office = { locality, authority: $("office-authority").value };
    offset = 0;
    $("act").hidden = true;
    loadQueue();
  });
  $("filter-form").addEventListener("submit", (event) => {
    event.preventDefault();
    offset = 0;
    loadQueue();
  });
  $("page-prev").addEventListener("click", () => {
    offset = Math.max(0, offset - Number($("filter-limit").value));
    loadQueue();
  });
  $("page-next").addEventListener("click", () => {
    if (offset + Number($("filter-limit").value) < total) offset += Number($("filter-limit").value);
    loadQueue();
  });
  $("act-close").addEventListener("click", () => {
    $("act").hidden = true;
    selected = null;
  });
  const forms = ["receive-form", "supplement-request-form", "approve-form", "reject-form", "correction-approve-form", "correction-reject-form", "revoke-form"];
  for (const id of forms) $(id).addEventListener("submit", act);
  window.NL.describeLocality($("office-locality"), $("office-locality-name"));

  // A clerk works its own office's queue (the session's scope); an administrator picks one.
  window.NL.staff($("office-signed-out")).then((signed) => {
    if (!signed) return;
    $("office-form").hidden = false;
    if (signed.role !== "office") return;
    $("office-locality").value = signed.scope;
    $("office-authority").value = signed.authority;
    $("office-locality").readOnly = true;
    $("office-authority").disabled = true;
    office = { locality: signed.scope, authority: signed.authority };
    loadQueue();
  });
})();
