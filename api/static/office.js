/* The office page, signed in as a staff user: the office (its own, from the session; an
   administrator chooses one), its search and queue, and the clerk's workbench of one request
   (GET /service-requests/{id}: the data sent to the office, the family's answers and files,
   the clock, who acts next, the timeline, and a form for each step the state allows; the
   page's address names the request open, ?request=<id>). */
"use strict";

(function () {
  const { h, api, bi, label, serviceName, resultName, showApiProblem, hideProblem, dateTime, busy, reference } = window.NL;
  const $ = (id) => document.getElementById(id);
  let office = null; // {locality, authority}
  let offset = 0;
  let total = 0;
  let selected = null; // the request open on the workbench (its view)
  let clerk = false; // signed in as an office's clerk (the remote window is a clerk's)

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
      button.addEventListener("click", () => openRequest(row.service_request_id, true));
      body.append(
        h(
          "tr",
          {},
          h("th", { scope: "row" }, serviceName(row.service)),
          h("td", { "data-label": "状态 State" }, h("span", { className: "badge state-" + row.state }, label("state", row.state))),
          h("td", { "data-label": "角色 Role" }, label("role", row.role)),
          h("td", { className: "nowrap", "data-label": "办结时限 Due" }, due),
          h("td", { "data-label": "案件 Case" }, h("code", { title: row.case_id }, row.case_id.slice(0, 8))),
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

  async function loadDeliveries(id) {
    const list = $("act-deliveries-list");
    list.replaceChildren();
    $("act-deliveries").hidden = true;
    try {
      const found = await api("GET", "/service-requests/" + id + "/deliveries", null);
      for (const system of found.systems) {
        for (const d of system.deliveries) {
          const when = d.delivered_at ? dateTime(d.delivered_at) : d.next_attempt_at ? h("span", {}, bi("下次", "next"), " ", dateTime(d.next_attempt_at)) : "—";
          list.append(h("li", {}, h("strong", {}, system.label || system.system_id.slice(0, 8)), " · ", d.type, " · ", h("span", { className: "badge" }, d.state), " · ", bi("尝试 " + d.attempts + " 次", d.attempts + " attempts"), " · ", when));
        }
      }
      $("act-deliveries").hidden = !list.children.length;
    } catch (error) {
      /* the request stays workable without the delivery status */
    }
  }

  // The files the family's supplements cite, as download links: the session's cookie goes
  // with the link (same origin), so a click downloads the file.
  function renderDocuments(id, documents) {
    const list = $("act-documents-list");
    list.replaceChildren();
    const base = "/service-requests/" + id + "/documents";
    for (const doc of documents) {
      const link = h("a", { href: base + "/" + encodeURIComponent(doc.id), download: savedName(doc) }, doc.name);
      const kb = Math.max(1, Math.round(doc.size / 1024));
      list.append(h("li", {}, link, " ", h("span", { className: "muted" }, doc.type + " · " + kb + " KB")));
    }
    $("act-documents").hidden = !documents.length;
  }

  // A file is saved under its stem and the extension of the type the server checked it as
  // (the server's name already ends so; never trust a name to choose how a file opens).
  function savedName(doc) {
    const ext = { "application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png" }[doc.type] || ".bin";
    const stem = String(doc.name || "").replace(/\.[^.]*$/, "").replace(/[. ]+$/, "");
    return (stem || "document") + ext;
  }

  // The dispatched fields, named in Chinese and English; results carried from earlier
  // services are marked so.
  const FIELDS = {
    child_name: ["儿童姓名", "Child's name"],
    born_at: ["出生时间", "Born at"],
    sex: ["性别", "Sex"],
    birth_division: ["出生地", "Place of birth"],
    household: ["随父或随母落户", "Hukou follows"],
    residence_division: ["居住地", "Residence"],
    insured_division: ["参保地", "Insured at"],
    facility_uscc: ["助产机构代码", "Birth facility (USCC)"],
    record_ref: ["医院出生记录号", "Hospital record"],
    delivery_ref: ["分娩记录号", "Delivery record"],
    multiple_birth: ["多胞胎序号", "Birth order (multiple birth)"],
    birth_weight_g: ["出生体重（克）", "Birth weight (g)"],
    gestation_weeks: ["孕周", "Gestation (weeks)"],
    apgar_1: ["Apgar 1 分钟", "Apgar at 1 min"],
    apgar_5: ["Apgar 5 分钟", "Apgar at 5 min"],
    birth_doses: ["出生时接种", "Doses at birth"],
    "mother.name": ["母亲姓名", "Mother's name"],
    "mother.citizen_id": ["母亲身份证号", "Mother's citizen ID"],
    "mother.phone": ["母亲电话", "Mother's phone"],
    "mother.hukou_division": ["母亲户籍地", "Mother's hukou"],
    "mother.residence_division": ["母亲居住地", "Mother's residence"],
    "father.name": ["父亲姓名", "Father's name"],
    "father.citizen_id": ["父亲身份证号", "Father's citizen ID"],
    "father.phone": ["父亲电话", "Father's phone"],
    "father.hukou_division": ["父亲户籍地", "Father's hukou"],
    "father.residence_division": ["父亲居住地", "Father's residence"],
  };
  const VALUES = {
    sex: { male: ["男", "male"], female: ["女", "female"], unknown: ["未说明", "not stated"] },
    household: { mother: ["随母", "the mother"], father: ["随父", "the father"] },
  };
  const CARRIED = ["certificate_number", "vaccination_record_number", "citizen_id", "enrolment_number", "card_number", "decision_number"];

  function fieldValue(name, value) {
    if (VALUES[name] && VALUES[name][value]) return bi(VALUES[name][value][0], VALUES[name][value][1]);
    if (/division$/.test(name)) return window.NL.locality(String(value));
    if (name === "born_at") return dateTime(value);
    if (Array.isArray(value)) return value.join("、");
    if (/citizen_id$|_number$|^record_ref$|^facility_uscc$/.test(name)) return h("code", {}, String(value));
    return String(value);
  }

  function fact(term, value, wide) {
    return h("div", { className: wide ? "wide" : "" }, h("dt", {}, term), h("dd", {}, value));
  }

  function fieldTerm(name) {
    if (CARRIED.includes(name)) return h("span", {}, resultName(name), " ", h("span", { className: "badge" }, bi("前序结果", "carried forward")));
    return FIELDS[name] ? bi(FIELDS[name][0], FIELDS[name][1]) : document.createTextNode(name);
  }

  function renderData(view) {
    const data = $("act-data");
    data.replaceChildren();
    const names = Object.keys(view.dispatched);
    if (!names.length) data.append(h("p", { className: "muted" }, bi("尚未推送信息", "Nothing sent yet")));
    for (const name of names) {
      const term = fieldTerm(name);
      const changed = (view.new_facts || []).includes(name) ? h("span", { className: "badge state-supplement-requested" }, bi("已更正", "corrected")) : "";
      data.append(fact(term, h("span", {}, fieldValue(name, view.dispatched[name]), " ", changed)));
    }
  }

  // What the office is asked to decide after its decision: a correction (each field's old
  // and new value, its evidence and due date) or a revocation (the void's reason, due date).
  function renderAsked(view) {
    const changes = $("act-asked-changes");
    const facts = $("act-asked-facts");
    changes.replaceChildren();
    facts.replaceChildren();
    const correction = view.correction;
    const revocation = view.revocation;
    $("act-asked").hidden = !correction && !revocation;
    if (correction) {
      $("act-asked-heading").replaceChildren(bi("待审核的更正", "Correction to decide"));
      const rows = Object.keys(correction.new).map((name) => {
        const old = name in correction.old ? fieldValue(name, correction.old[name]) : "—";
        return h("tr", {}, h("th", { scope: "row" }, fieldTerm(name)), h("td", { "data-label": "原值 Old" }, old), h("td", { "data-label": "更正为 New" }, h("strong", {}, fieldValue(name, correction.new[name]))));
      });
      const head = h("thead", {}, h("tr", {}, h("th", { scope: "col" }, bi("字段", "Field")), h("th", { scope: "col" }, bi("原值", "Old")), h("th", { scope: "col" }, bi("更正为", "New"))));
      changes.append(h("table", { className: "stack", id: "act-correction" }, h("caption", { className: "hint" }, bi("办理决定所依据的值与更正后的值", "The values decided on, and the corrected ones")), head, h("tbody", {}, ...rows)));
      facts.append(fact(bi("更正依据", "Evidence"), correction.evidence.length ? h("span", {}, ...correction.evidence.flatMap((e, i) => (i ? ["、", h("code", {}, e)] : [h("code", {}, e)]))) : "—", true));
      facts.append(fact(bi("审核时限", "Decide by"), dueText(correction.due, correction.due_provisional)));
    }
    if (revocation) {
      $("act-asked-heading").replaceChildren(bi("待撤销的办理结果", "Result to revoke"));
      facts.append(fact(bi("撤销理由", "Reason"), revocation.reason || "—", true));
      facts.append(fact(bi("撤销时限", "Revoke by"), dueText(revocation.due, revocation.due_provisional)));
    }
  }

  function dueText(due, provisional) {
    const text = h("span", {}, due || "—");
    if (provisional) text.append(" ", h("span", { className: "badge", title: "节假日安排未公布 / holidays not yet published" }, bi("暂定", "provisional")));
    return text;
  }

  const WHOSE = {
    "receiving-window": ["收件窗口受理时限", "the receiving window's time to accept or notify"],
    "handling-office": ["办理部门办结时限", "the handling office's time to decide"],
    family: ["家庭补正期限", "the family's time to answer"],
    none: ["不再计时", "no clock runs"],
  };

  const NEXT_ACTIONS = {
    "receive (受理) or give the one-time notice": ["收件受理或一次性告知", "receive or give the one-time notice"],
    decide: ["作出办理决定", "decide"],
    supplement: ["补正材料", "supplement"],
    "decide the correction": ["审核更正", "decide the correction"],
    "revoke the result": ["撤销办理结果", "revoke the result"],
    "resubmit, close the case or seek a remedy": ["重新申请、结束案件或寻求救济", "resubmit, close the case or seek a remedy"],
    "route and dispatch": ["分派并推送", "route and dispatch"],
  };

  function nextAction(action) {
    const booking = /^book a remote window session with (\d{6})( and receive)?/.exec(action);
    if (booking) return bi("预约与 " + booking[1] + " 的远程虚拟窗口会话" + (booking[2] ? "并收件受理" : ""), action);
    const found = SESSION_NEXT[action] || NEXT_ACTIONS[action] || (/^decide /.test(action) ? ["待前置事项办结", action] : null);
    return found ? bi(found[0], found[1]) : document.createTextNode(action);
  }

  /** A session's step is due at a moment (shown in China time), a request's on a day. */
  function dueWhen(due) {
    return due.includes("T") ? dateTime(due) : due;
  }

  function renderClock(view) {
    const clock = view.clock;
    const due = h("span", {}, clock.due || "—");
    if (clock.due_provisional) due.append(" ", h("span", { className: "badge", title: "节假日安排未公布 / holidays not yet published" }, bi("暂定", "provisional")));
    if (clock.due_soon && !clock.overdue) due.append(" ", h("span", { className: "badge" }, bi("临近", "due soon")));
    if (clock.overdue) due.append(" ", h("span", { className: "badge state-rejected" }, bi("逾期", "overdue")));
    const whose = WHOSE[clock.whose] || [clock.whose, clock.whose];
    const next = view.next;
    let who = bi("无需再办", "nobody: it is over");
    if (next && next.waits_on) {
      // waiting behind another service: which one, not who holds it nor by when
      who = h("span", {}, bi("等待前置事项", "waits on"), " ", serviceName(next.waits_on));
    } else if (next) {
      const party = next.party === "family" ? bi("家庭", "the family") : next.you ? bi("本窗口", "this office") : next.locality ? h("span", {}, window.NL.authorityName(next.authority), " ", window.NL.locality(next.locality)) : document.createTextNode(next.who);
      who = h("span", {}, party, " — ", nextAction(next.action), next.due ? " · " + dueWhen(next.due) : "");
      if (next.you) who.prepend(h("span", { className: "badge state-received" }, bi("轮到你", "your turn")), " ");
    }
    $("act-clock").replaceChildren(
      fact(bi("状态", "State"), h("span", { className: "badge state-" + view.state }, label("state", view.state))),
      fact(bi("本窗口角色", "This office's part"), view.role ? label("role", view.role) : "—"),
      fact(bi("时限", "Due"), due),
      fact(bi("计时", "Clock"), bi(whose[0], whose[1])),
      fact(bi("下一步由谁办理", "Who acts next"), who, true),
      fact(bi("受理回执", "Receipt"), view.receipt_number || "—"),
      fact(bi("办理方式", "Mode"), label("mode", view.mode)),
    );
    if (view.result) {
      for (const [name, value] of Object.entries(view.result)) $("act-clock").append(fact(resultName(name), h("code", {}, value), true));
    }
  }

  function renderExchanges(view) {
    const list = $("act-exchanges-list");
    list.replaceChildren();
    const entries = view.notices.map((n) => ({ kind: "notice", at: n.at, entry: n })).concat(view.supplements.map((s) => ({ kind: "answer", at: s.at, entry: s })));
    entries.sort((a, b) => (a.at < b.at ? -1 : 1));
    for (const { kind, at, entry } of entries) {
      const head = kind === "notice" ? bi("一次性告知：需补正", "Notice: items needed") : bi("家庭答复", "The family's answer");
      const items = h("ul", {}, ...entry.items.map((item) => h("li", {}, item)));
      const extra = [];
      if (kind === "notice" && entry.family_due) extra.push(h("p", { className: "hint" }, bi("答复期限 " + entry.family_due, "answer by " + entry.family_due)));
      if (kind === "notice" && entry.reason) extra.push(h("p", { className: "hint" }, bi("理由：", "Reason: "), entry.reason));
      if (kind === "answer" && entry.evidence.length) extra.push(h("p", { className: "hint" }, bi("附材料 " + entry.evidence.length + " 份（见下）", entry.evidence.length + " file(s), below")));
      list.append(h("li", { className: "exchange " + kind }, h("p", {}, h("strong", {}, head), " ", h("time", { dateTime: at }, dateTime(at))), items, ...extra));
    }
    $("act-exchanges").hidden = !entries.length;
  }

  function renderTimeline(view) {
    const list = $("act-timeline");
    list.replaceChildren();
    for (const entry of view.timeline.slice().reverse()) {
      const window_ = /^remote-window:/.test(entry.stream);
      const stream = entry.stream === "case" ? bi("案件", "case") : window_ ? bi("远程虚拟窗口", "remote window") : serviceName(entry.stream);
      list.append(h("li", {}, h("time", { dateTime: entry.at }, dateTime(entry.at)), h("span", {}, h("span", { className: "svc" }, stream), label("event", entry.event))));
    }
    $("act-timeline-section").hidden = !view.timeline.length;
  }

  const DONE = {
    receive: ["收件", "received"],
    "request-supplement": ["一次性告知补正", "supplement requested"],
    approve: ["办结", "approved"],
    reject: ["不予办理", "rejected"],
    "approve-correction": ["核准更正", "correction approved"],
    "reject-correction": ["不予更正", "correction rejected"],
    revoke: ["撤销办理结果", "result revoked"],
  };

  const FORMS = {
    receive: "receive-form",
    "request-supplement": "supplement-request-form",
    approve: "approve-form",
    reject: "reject-form",
    "approve-correction": "correction-approve-form",
    "reject-correction": "correction-reject-form",
    revoke: "revoke-form",
  };

  function renderActions(view) {
    const allowed = new Map(view.actions.map((a) => [a.action, a]));
    for (const [action, id] of Object.entries(FORMS)) {
      $(id).hidden = !allowed.has(action);
      $(id).reset();
      window.NLForms.clear($(id));
    }
    const mayBook = Boolean(view.remote_window && view.remote_window.may_book);
    $("session-book-form").hidden = !mayBook;
    $("session-book-form").reset();
    window.NLForms.clear($("session-book-form"));
    $("session-book-with").replaceChildren(officeName({ locality: view.handling_locality, authority: view.authority }));
    $("act-none").hidden = mayBook || Object.keys(FORMS).some((action) => allowed.has(action));
    const approve = allowed.get("approve") || allowed.get("approve-correction");
    const field = (approve && approve.result_field) || (reference.services[view.service] || {}).result_field || "result";
    $("result-label").replaceChildren(resultName(field));
    $("result-field").textContent = field;
    for (const id of ["result-value", "correction-result-value"]) $(id).dataset.field = field;
  }

  async function openRequest(id, focus) {
    hideProblem($("act-problem"));
    $("act").hidden = false;
    $("act-status").replaceChildren(bi("正在载入…", "Loading…"));
    try {
      const view = await api("GET", "/service-requests/" + encodeURIComponent(id), null);
      selected = view;
      $("act-subject").replaceChildren(serviceName(view.service), " · ", h("code", { title: view.case_id }, view.case_id.slice(0, 8)));
      renderClock(view);
      renderData(view);
      renderAsked(view);
      renderExchanges(view);
      renderDocuments(view.service_request_id, view.documents);
      renderRequestSessions(view);
      renderActions(view);
      renderTimeline(view);
      $("act-view").hidden = false;
      $("act-status").replaceChildren();
      const url = new URL(window.location.href);
      url.searchParams.set("request", view.service_request_id);
      window.history.replaceState(null, "", url.pathname + url.search);
      if (focus) $("act-heading").focus();
      loadDeliveries(view.service_request_id);
    } catch (error) {
      selected = null;
      for (const id of [...Object.values(FORMS), "session-book-form", "act-view", "act-none", "act-deliveries", "act-timeline-section"]) $(id).hidden = true;
      $("act-status").replaceChildren();
      showApiProblem($("act-problem"), error);
    }
  }

  // Each form's own checks (all of them at once): [{input, zh, en}].
  function problems(action) {
    const errors = [];
    const need = (id, zh, en) => {
      if (!$(id).value.trim()) errors.push({ input: $(id), zh, en });
    };
    if (action === "receive") need("receipt-number", "请填写受理回执编号", "the receipt number is needed");
    if (action === "request-supplement") {
      const items = $("supplement-items").value.split("\n").map((line) => line.trim()).filter(Boolean);
      if (!items.length) errors.push({ input: $("supplement-items"), zh: "请至少列出一项所需材料", en: "list at least one missing item" });
      else if (items.length > 30 || items.some((item) => item.length > 200)) errors.push({ input: $("supplement-items"), zh: "最多 30 项，每项不超过 200 字", en: "at most 30 items of 200 characters" });
    }
    if (action === "approve" || action === "approve-correction") {
      const id = action === "approve" ? "result-value" : "correction-result-value";
      const value = $(id).value.trim();
      if (!value) errors.push({ input: $(id), zh: "请填写办理结果", en: "the result is needed" });
      else if ($(id).dataset.field === "citizen_id") {
        const wrong = window.NLForms.citizenIdProblem(value);
        if (wrong) errors.push({ input: $(id), zh: wrong[0], en: wrong[1] });
      }
    }
    if (action === "reject") {
      need("reject-reason", "请填写不予办理的理由", "the reason is needed");
      need("reject-basis", "请填写法律依据", "the legal basis is needed");
    }
    if (action === "reject-correction") need("correction-reject-reason", "请填写理由", "the reason is needed");
    return errors;
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
      const input = $(action === "approve" ? "result-value" : "correction-result-value");
      const value = input.value.trim();
      return { [input.dataset.field]: input.dataset.field === "citizen_id" ? value.toUpperCase() : value };
    }
    if (action === "reject-correction") return { reason: $("correction-reject-reason").value.trim() };
    if (action === "revoke") return {};
    return { reason: $("reject-reason").value.trim(), basis: $("reject-basis").value.trim() };
  }

  async function act(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const action = form.dataset.action;
    const problem = $("act-problem");
    hideProblem(problem);
    for (const id of [...Object.values(FORMS), "session-book-form"]) window.NLForms.clear($(id)); // one form's problems at a time
    const errors = problems(action);
    if (errors.length) {
      window.NLForms.show(form, problem, errors);
      return;
    }
    busy(form, true);
    try {
      const view = await api("POST", "/service-requests/" + selected.service_request_id + "/" + action, null, body(action));
      form.reset();
      await openRequest(view.service_request_id, false);
      const done = DONE[action] || [action, action];
      $("act-status").replaceChildren(bi("已完成：" + done[0], "Done: " + done[1]));
      $("act-heading").focus();
      if (office) await loadQueue();
      await loadSessions(); // a decision changes what a session's offices do next
    } catch (error) {
      showApiProblem(problem, error);
      window.NLForms.markServer(form, error);
    } finally {
      busy(form, false);
    }
  }

  // The remote virtual window (远程虚拟窗口): the office's sessions to join (booked, in
  // progress), each as GET /remote-window-sessions/{id} shows it to this office: who acts next
  // and by when, and the steps the API allows this office now (start, join, end, cancel).
  const SESSION_STATES = {
    booked: ["已预约", "booked"],
    "in-progress": ["进行中", "in progress"],
    ended: ["已结束", "ended"],
    cancelled: ["已取消", "cancelled"],
  };
  const PARTIES = {
    receiving: ["收件窗口", "receiving office"],
    handling: ["办理窗口", "handling office"],
    applicant: ["申请人", "applicant"],
  };
  const SESSION_NEXT = {
    "join the session by its start (either office starts it)": ["在开始时间前加入会话（任一窗口可开始）", "join the session by its start (either office starts it)"],
    "end the session": ["结束会话", "end the session"],
    "decide the request (approve or reject)": ["作出办理决定（办结或不予办理）", "decide the request (approve or reject)"],
    "book another session, or the request goes on without one": ["重新预约，或不经远程窗口继续办理", "book another session, or the request goes on without one"],
    "book another session: this one's slot passed without it starting": ["重新预约：本次会话时段已过而未开始", "book another session: this one's slot passed without it starting"],
    "answer the one-time notice (补正) at the receiving window": ["在收件窗口补正材料（一次性告知）", "answer the one-time notice (补正) at the receiving window"],
    "receive the request (the handling office decides it once received)": ["收件受理（受理后由办理地作出决定）", "receive the request (the handling office decides it once received)"],
  };
  const SESSION_DONE = {
    book: ["已预约会话", "session booked"],
    start: ["会话已开始", "session started"],
    "join-receiving": ["本窗口已加入", "this office joined"],
    "join-handling": ["本窗口已加入", "this office joined"],
    "join-applicant": ["已记录申请人到场", "the applicant joined"],
    end: ["会话已结束，请作出办理决定", "session ended: the decision is next"],
    cancel: ["会话已取消", "session cancelled"],
  };
  const MAX_TEXT = 500;
  const HOUR = 3600 * 1000;
  let stepping = null; // the session whose end or cancel form is open: {view, action}
  let sessionReads = 0;

  function sessionState(state) {
    const names = SESSION_STATES[state] || [state, state];
    return h("span", { className: "badge session-" + state }, bi(names[0], names[1]));
  }

  function officeName(o) {
    return h("span", { className: "office-name" }, window.NL.authorityName(o.authority), " ", window.NL.locality(o.locality));
  }

  /** A slot in China time: "2026/11/21 10:00–10:45" (the end's date only when another day). */
  function slotText(starts, ends) {
    const from = dateTime(starts);
    const to = dateTime(ends);
    return from.slice(0, 10) === to.slice(0, 10) ? from + "–" + to.slice(11) : from + " – " + to;
  }

  /** The list's slot: the day above the hours, so the column stays narrow. */
  function slotCell(starts, ends) {
    const text = slotText(starts, ends);
    const day = text.slice(0, 10);
    const sameDay = text.charAt(10) === " " && !text.includes(" – ");
    return h("time", { dateTime: starts }, sameDay ? [h("span", { className: "slot block" }, day), h("span", { className: "slot block" }, text.slice(11))] : text);
  }

  function parties(joined) {
    if (!joined.length) return bi("尚无人加入", "nobody joined yet");
    return h("span", {}, bi("已加入", "joined"), ": ", ...joined.flatMap((p, i) => [i ? "、" : "", bi((PARTIES[p] || [p])[0], (PARTIES[p] || [p, p])[1])]));
  }

  function sessionNext(view) {
    const next = view.next;
    if (!next) return bi("无需再办", "nobody: it is over");
    // a session's two offices are of one authority: each is named by its county, this one
    // as "this office"
    const here = (o) => office && o.locality === office.locality && o.authority === office.authority;
    const names = next.offices.filter((o) => !here(o)).map((o) => window.NL.locality(o.locality));
    if (next.you) names.unshift(bi("本窗口", "this office"));
    const who = h("span", {}, ...names.flatMap((name, i) => [i ? "、" : "", name]));
    const found = SESSION_NEXT[next.action];
    const line = h("span", {}, who, " — ", found ? bi(found[0], found[1]) : next.action, next.due ? " · " + dueWhen(next.due) : "");
    if (next.you) line.prepend(h("span", { className: "badge state-received" }, bi("轮到你", "your turn")), " ");
    return line;
  }

  async function loadSessions() {
    if (!clerk || !office) return;
    const problem = $("window-problem");
    const path = "/offices/" + encodeURIComponent(office.locality) + "/" + encodeURIComponent(office.authority) + "/remote-window-sessions?live=true";
    const read = ++sessionReads; // only the latest read is drawn
    try {
      const list = await api("GET", path, null);
      const views = await Promise.all(list.rows.map((row) => api("GET", "/remote-window-sessions/" + row.session_id, null)));
      if (read !== sessionReads) return;
      renderSessions(views.filter((view) => view.state === "booked" || view.state === "in-progress"));
      const more = $("window-more"); // the list is paged: say so when there are more
      more.hidden = list.total <= list.rows.length;
      more.replaceChildren(bi("显示最近 " + list.rows.length + " 个，共 " + list.total + " 个会话", "showing the " + list.rows.length + " soonest of " + list.total + " sessions"));
    } catch (error) {
      showApiProblem(problem, error);
    }
    $("window-section").hidden = false;
  }

  function renderSessions(views) {
    const body = $("window-rows");
    body.replaceChildren();
    for (const view of views) {
      const other = view.side === "receiving" ? view.handling : view.receiving;
      const part = view.side === "receiving" ? bi("本窗口收件，对方办理", "we receive, they decide") : bi("对方收件，本窗口办理", "they receive, we decide");
      body.append(
        h(
          "tr",
          { dataset: { session: view.session_id } },
          h("th", { scope: "row" }, slotCell(view.starts_at, view.ends_at)),
          h("td", { "data-label": "对方窗口 Other office" }, window.NL.locality(other.locality), h("span", { className: "muted block" }, part)),
          h("td", { "data-label": "服务 Service" }, serviceName(view.service), " ", h("code", { title: view.case_id }, view.case_id.slice(0, 8))),
          h("td", { "data-label": "状态 State" }, sessionState(view.state), h("span", { className: "muted block" }, parties(view.joined))),
          h("td", { "data-label": "下一步 Who acts next" }, sessionNext(view)),
          h("td", { "data-label": "操作 Actions" }, sessionButtons(view)),
        ),
      );
    }
    $("window-table").hidden = !views.length;
    $("window-none").hidden = Boolean(views.length);
  }

  function sessionButtons(view) {
    const box = h("div", { className: "row-actions" });
    const add = (step, text, run, kind) => {
      const button = h("button", { type: "button", className: (kind || "") + " small", dataset: { step } }, text);
      button.addEventListener("click", run);
      box.append(button);
    };
    for (const allowed of view.actions) {
      if (allowed.action === "start") add("start", bi("开始会话", "Start"), () => sessionStep(view, "start", {}, null, button(view, "start")));
      if (allowed.action === "join") {
        for (const party of allowed.parties) {
          const text = party === "applicant" ? bi("申请人到场", "Applicant present") : bi("加入会话", "Join");
          add("join-" + party, text, () => sessionStep(view, "join", { party }, null, button(view, "join-" + party)), party === "applicant" ? "secondary" : "");
        }
      }
      if (allowed.action === "end") add("end", bi("结束会话…", "End…"), () => openStep(view, "end"));
      if (allowed.action === "cancel") add("cancel", bi("取消会话…", "Cancel…"), () => openStep(view, "cancel"), "secondary");
    }
    add("open", bi("打开办件", "Open request"), () => openRequest(view.service_request_id, true), "secondary");
    return box;
  }

  function button(view, step) {
    return document.querySelector('#window-rows tr[data-session="' + view.session_id + '"] button[data-step="' + step + '"]');
  }

  /** One step of a session; the list (and the request's workbench, when open) refreshed. */
  async function sessionStep(view, action, stepBody, form, pressed) {
    const problem = $("window-problem");
    hideProblem(problem);
    if (pressed) pressed.disabled = true;
    if (form) busy(form, true);
    try {
      await api("POST", "/remote-window-sessions/" + view.session_id + "/" + action, null, stepBody);
      const done = SESSION_DONE[action === "join" ? "join-" + stepBody.party : action];
      closeStep();
      await loadSessions();
      $("window-status").replaceChildren(bi("已完成：" + done[0], "Done: " + done[1]), " · " + dateTime(new Date().toISOString()));
      // ended: the handling office decides next, on the request's workbench
      if (action === "end" || (selected && selected.service_request_id === view.service_request_id)) await openRequest(view.service_request_id, false);
    } catch (error) {
      showApiProblem(problem, error);
      if (form) window.NLForms.markServer(form, error);
      if (pressed) pressed.disabled = false;
    } finally {
      if (form) busy(form, false);
    }
  }

  function openStep(view, action) {
    const form = $("session-step-form");
    const end = action === "end";
    stepping = { view, action };
    hideProblem($("window-problem"));
    window.NLForms.clear(form);
    $("session-step-heading").replaceChildren(end ? bi("结束会话", "End the session") : bi("取消会话", "Cancel the session"));
    $("session-step-about").replaceChildren(serviceName(view.service), " · ", slotText(view.starts_at, view.ends_at));
    $("session-text-label").replaceChildren(end ? bi("会话结果", "Outcome") : bi("取消理由", "Reason"));
    $("session-text").name = end ? "outcome" : "reason";
    $("session-text").value = "";
    $("session-step-submit").replaceChildren(end ? bi("结束会话", "End the session") : bi("取消会话", "Cancel the session"));
    $("session-step-submit").className = end ? "" : "danger";
    form.hidden = false;
    $("session-step-heading").focus();
  }

  function closeStep() {
    stepping = null;
    $("session-step-form").hidden = true;
    window.NLForms.clear($("session-step-form"));
  }

  async function submitStep(event) {
    event.preventDefault();
    if (!stepping) return;
    const form = $("session-step-form");
    const input = $("session-text");
    const text = input.value.trim();
    const end = stepping.action === "end";
    let wrong = null;
    if (!text) wrong = end ? ["请填写会话结果", "the outcome is needed"] : ["请填写取消理由", "the reason is needed"];
    else if (text.length > MAX_TEXT) wrong = ["最多 500 字", "at most 500 characters"];
    if (wrong) {
      window.NLForms.show(form, $("window-problem"), [{ input, zh: wrong[0], en: wrong[1] }]);
      return;
    }
    await sessionStep(stepping.view, stepping.action, { [input.name]: text }, form, null);
  }

  // The workbench's part: the request's sessions (the outcome, a cancellation's reason), and
  // the booking form when the API says one may be booked (may_book).
  function renderRequestSessions(view) {
    const list = $("act-window-list");
    list.replaceChildren();
    const sessions = (view.remote_window && view.remote_window.sessions) || [];
    for (const s of sessions) {
      const extra = [];
      if (s.note) extra.push(h("p", { className: "hint" }, bi("备注", "Note"), ": ", s.note));
      if (s.outcome) extra.push(h("p", {}, bi("会话结果", "Outcome"), ": ", h("strong", {}, s.outcome)));
      if (s.cancel_reason) extra.push(h("p", {}, bi("取消理由", "Reason"), ": ", s.cancel_reason));
      list.append(
        h(
          "li",
          { className: "exchange session-" + s.state, dataset: { session: s.session_id } },
          h("p", {}, sessionState(s.state), " ", h("time", { className: "slot", dateTime: s.starts_at }, slotText(s.starts_at, s.ends_at))),
          h("p", { className: "hint" }, parties(s.joined)),
          ...extra,
        ),
      );
    }
    $("act-window").hidden = !sessions.length;
  }

  /** A datetime-local value (YYYY-MM-DDTHH:MM) read as China time: its instant, or null. */
  function chinaMoment(value) {
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?$/.test(value)) return null;
    const moment = Date.parse(value + (value.length === 16 ? ":00" : "") + "+08:00");
    return Number.isNaN(moment) ? null : moment;
  }

  function chinaTime(value) {
    return value + (value.length === 16 ? ":00" : "") + "+08:00";
  }

  // The booking form's own checks, all at once (the server checks the same again).
  function bookingProblems() {
    const errors = [];
    const starts = $("session-starts");
    const ends = $("session-ends");
    const start = chinaMoment(starts.value);
    const end = chinaMoment(ends.value);
    const now = Date.now();
    if (!starts.value) errors.push({ input: starts, zh: "请填写开始时间", en: "the start is needed" });
    else if (start === null) errors.push({ input: starts, zh: "开始时间无效", en: "the start is not a date and time" });
    else if (start <= now) errors.push({ input: starts, zh: "开始时间已过", en: "the start is in the past" });
    else if (start - now > 90 * 24 * HOUR) errors.push({ input: starts, zh: "只能预约 90 天内的时段", en: "a slot starts within 90 days" });
    if (!ends.value) errors.push({ input: ends, zh: "请填写结束时间", en: "the end is needed" });
    else if (end === null) errors.push({ input: ends, zh: "结束时间无效", en: "the end is not a date and time" });
    else if (start !== null && end <= start) errors.push({ input: ends, zh: "结束时间须晚于开始时间", en: "the end comes after the start" });
    else if (start !== null && end - start > 4 * HOUR) errors.push({ input: ends, zh: "会话最长 4 小时", en: "a session is at most 4 hours" });
    if ($("session-note").value.trim().length > MAX_TEXT) errors.push({ input: $("session-note"), zh: "备注最多 500 字", en: "the note is at most 500 characters" });
    return errors;
  }

  async function book(event) {
    event.preventDefault();
    const form = $("session-book-form");
    const problem = $("act-problem");
    hideProblem(problem);
    for (const id of [...Object.values(FORMS), "session-book-form"]) window.NLForms.clear($(id));
    const errors = bookingProblems();
    if (errors.length) {
      window.NLForms.show(form, problem, errors);
      return;
    }
    const booking = { service_request_id: selected.service_request_id, starts_at: chinaTime($("session-starts").value), ends_at: chinaTime($("session-ends").value) };
    const note = $("session-note").value.trim();
    if (note) booking.note = note;
    busy(form, true);
    try {
      await api("POST", "/remote-window-sessions", null, booking);
      await openRequest(selected.service_request_id, false);
      $("act-status").replaceChildren(bi("已完成：" + SESSION_DONE.book[0], "Done: " + SESSION_DONE.book[1]));
      $("act-heading").focus();
      await loadSessions();
    } catch (error) {
      showApiProblem(problem, error);
      window.NLForms.markServer(form, error);
    } finally {
      busy(form, false);
    }
  }

  // Search the office's own requests: by tracking code, or by a parent's citizen ID (in
  // the body of a POST: never in a URL).
  function searchKind() {
    return document.querySelector("#search-form input[name=kind]:checked").value;
  }

  async function search(event) {
    event.preventDefault();
    const form = $("search-form");
    const input = $("search-value");
    const problem = $("search-problem");
    hideProblem(problem);
    window.NLForms.clear(form);
    const kind = searchKind();
    // full-width digits and letters (an input method's) are read as ASCII, as the server does
    const typed = input.value.normalize("NFKC");
    const value = kind === "tracking_code" ? window.NLForms.trackingCode(typed) : typed.trim().toUpperCase();
    input.dataset.field = kind;
    let wrong = null;
    if (!value) wrong = ["请填写查询码或身份证号", "a tracking code or a citizen ID is needed"];
    else if (kind === "tracking_code" && !window.NLForms.isTrackingCode(value)) wrong = ["查询码为 12 位字母和数字（不含 I、L、O、U）", "a tracking code is 12 letters and digits (no I, L, O or U)"];
    else if (kind === "citizen_id") wrong = window.NLForms.citizenIdProblem(value) || null;
    if (wrong) {
      window.NLForms.show(form, problem, [{ input, zh: wrong[0], en: wrong[1] }]);
      return;
    }
    busy(form, true);
    try {
      const path = "/offices/" + encodeURIComponent(office.locality) + "/" + encodeURIComponent(office.authority) + "/search";
      const found = await api("POST", path, null, { [kind]: value });
      renderFound(found.rows);
    } catch (error) {
      showApiProblem(problem, error);
      window.NLForms.markServer(form, error);
    } finally {
      busy(form, false);
    }
  }

  function renderFound(rows) {
    const body = $("search-rows");
    body.replaceChildren();
    for (const row of rows) {
      const button = h("button", { type: "button", className: "secondary small", "aria-label": "打开 Open " + row.service + " " + row.case_id.slice(0, 8) }, bi("打开", "Open"));
      button.addEventListener("click", () => openRequest(row.service_request_id, true));
      body.append(
        h(
          "tr",
          {},
          h("th", { scope: "row" }, serviceName(row.service)),
          h("td", { "data-label": "儿童 Child" }, row.child_name || "—", row.born_at ? h("span", { className: "muted" }, " · " + dateTime(row.born_at)) : ""),
          h("td", { "data-label": "状态 State" }, h("span", { className: "badge state-" + row.state }, label("state", row.state))),
          h("td", { className: "nowrap", "data-label": "办结时限 Due" }, row.due || "—"),
          h("td", {}, button),
        ),
      );
    }
    $("search-results").hidden = !rows.length;
    $("search-status").replaceChildren(rows.length ? bi("找到 " + rows.length + " 件", rows.length + " found") : bi("本窗口没有匹配的办件", "No request of this office matches"));
    if (rows.length === 1) openRequest(rows[0].service_request_id, true);
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
    $("search-section").hidden = false;
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
    window.history.replaceState(null, "", window.location.pathname);
  });
  $("search-form").addEventListener("submit", search);
  for (const radio of document.querySelectorAll("#search-form input[name=kind]")) {
    radio.addEventListener("change", () => {
      window.NLForms.clear($("search-form"));
      hideProblem($("search-problem"));
      $("search-value").focus();
    });
  }
  const forms = ["receive-form", "supplement-request-form", "approve-form", "reject-form", "correction-approve-form", "correction-reject-form", "revoke-form"];
  for (const id of forms) $(id).addEventListener("submit", act);
  $("session-book-form").addEventListener("submit", book);
  $("session-step-form").addEventListener("submit", submitStep);
  $("session-step-back").addEventListener("click", () => {
    closeStep();
    hideProblem($("window-problem"));
  });
  window.NL.describeLocality($("office-locality"), $("office-locality-name"));

  // A clerk works its own office's queue (the session's scope); an administrator picks one.
  window.NL.staff($("office-signed-out")).then((signed) => {
    if (!signed) return;
    $("office-form").hidden = false;
    const asked = new URLSearchParams(window.location.search).get("request");
    if (asked && /^[0-9a-f-]{36}$/i.test(asked)) openRequest(asked, true); // a bookmarked request
    if (signed.role !== "office") return;
    $("office-locality").value = signed.scope;
    $("office-authority").value = signed.authority;
    $("office-locality").readOnly = true;
    $("office-authority").disabled = true;
    office = { locality: signed.scope, authority: signed.authority };
    clerk = true;
    $("search-section").hidden = false;
    loadQueue();
    loadSessions();
  });
})();
