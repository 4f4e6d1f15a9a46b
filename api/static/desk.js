/* The routing desk page: a coordinator's parked requests, and a route for each. */
"use strict";

(function () {
  const { h, api, bi, showProblem, hideProblem, store, serviceName, dateTime, busy } = window.NL;
  const KEY = "newborn-ledger.desk";
  const MODES = [
    ["off-site", "异地代收代办 off-site"],
    ["online", "全程网办 online"],
    ["joint", "多地联办 joint"],
  ];
  const $ = (id) => document.getElementById(id);

  function routeForm(row, settings) {
    const receiving = h("input", { value: row.family_locality, maxLength: 6, size: 6, inputMode: "numeric", "aria-label": "受理地 Receiving locality" });
    const mode = h("select", { "aria-label": "方式 Mode" }, ...MODES.map(([value, text]) => h("option", { value }, text)));
    const reason = h("input", { maxLength: 500, required: true, placeholder: "理由 Reason", "aria-label": "理由 Reason" });
    const problem = h("p", { className: "problem", role: "alert", hidden: true });
    const form = h("form", { className: "form inline", method: "post", noValidate: true }, receiving, mode, reason, h("button", { type: "submit" }, bi("分派", "Route")), problem);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      hideProblem(problem);
      busy(form, true);
      try {
        await api("POST", "/service-requests/" + row.service_request_id + "/route", settings.token, {
          handling_locality: row.handling_locality,
          receiving_locality: receiving.value.trim(),
          mode: mode.value,
          reason: reason.value.trim(),
        });
        await show(settings);
      } catch (error) {
        showProblem(problem, error);
      } finally {
        busy(form, false);
      }
    });
    return form;
  }

  function render(body, settings) {
    $("parked-section").hidden = false;
    $("parked-subject").textContent = body.scope + " · " + body.total;
    $("parked-limit").textContent = "时限 " + body.time_limit_days + " 个工作日 · Time limit " + body.time_limit_days + " working days";
    const rows = $("parked-rows");
    rows.replaceChildren();
    if (!body.rows.length) rows.append(h("tr", {}, h("td", { colSpan: 7, className: "muted" }, bi("无待分派事项", "Nothing waits for a route"))));
    for (const row of body.rows) {
      rows.append(
        h(
          "tr",
          { className: row.overdue ? "overdue" : "" },
          h("td", {}, serviceName(row.service)),
          h("td", {}, row.case_id.slice(0, 8)),
          h("td", {}, row.handling_locality),
          h("td", {}, row.family_locality),
          h("td", {}, row.route_note),
          h("td", {}, row.due + (row.overdue ? " ⚠ " : "")),
          h("td", {}, routeForm(row, settings)),
        ),
      );
    }
  }

  async function show(settings) {
    const problem = $("desk-problem");
    hideProblem(problem);
    const form = $("desk-form");
    busy(form, true);
    try {
      const body = await api("GET", "/routing-desk?scope=" + encodeURIComponent(settings.scope), settings.token);
      render(body, settings);
      $("desk-status").textContent = "已更新 Updated " + dateTime(new Date().toISOString());
    } catch (error) {
      showProblem(problem, error);
      if (error.status === 401) store.remove(KEY);
    } finally {
      busy(form, false);
    }
  }

  $("desk-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const settings = { token: $("desk-token").value.trim(), scope: $("desk-scope").value.trim() };
    if (!settings.token || !/^([1-8]\d|national)$/.test(settings.scope)) {
      showProblem($("desk-problem"), new window.NL.Problem(422, { title: "请填写令牌和省份代码 Token and province (or national) needed", detail: "" }));
      return;
    }
    store.set(KEY, JSON.stringify(settings));
    show(settings);
  });
  $("desk-forget").addEventListener("click", () => {
    store.remove(KEY);
    $("desk-token").value = "";
    $("parked-section").hidden = true;
  });
  let saved = null;
  try {
    saved = JSON.parse(store.get(KEY) || "null");
  } catch (error) {
    saved = null;
  }
  if (saved && saved.token) {
    $("desk-token").value = saved.token;
    $("desk-scope").value = saved.scope || "";
    show(saved);
  }
})();
