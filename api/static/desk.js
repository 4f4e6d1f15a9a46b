/* The routing desk page: a coordinator's parked requests, and a route for each. */
"use strict";

(function () {
  const { h, api, bi, showProblem, showApiProblem, hideProblem, serviceName, dateTime, busy } = window.NL;
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
        await api("POST", "/service-requests/" + row.service_request_id + "/route", null, {
          handling_locality: row.handling_locality,
          receiving_locality: receiving.value.trim(),
          mode: mode.value,
          reason: reason.value.trim(),
        });
        await show(settings);
      } catch (error) {
        showApiProblem(problem, error);
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
          h("td", { "data-label": "事项 Service" }, serviceName(row.service)),
          h("td", { "data-label": "案件 Case" }, row.case_id.slice(0, 8)),
          h("td", { "data-label": "办理地 Handling" }, row.handling_locality),
          h("td", { "data-label": "申请人所在地 Family" }, row.family_locality),
          h("td", { "data-label": "说明 Note" }, row.route_note),
          h("td", { "data-label": "到期 Due" }, row.due + (row.overdue ? " ⚠ " : "")),
          h("td", { "data-label": "分派 Route" }, routeForm(row, settings)),
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
      const body = await api("GET", "/routing-desk?scope=" + encodeURIComponent(settings.scope), null);
      render(body, settings);
      $("desk-status").textContent = "已更新 Updated " + dateTime(new Date().toISOString());
    } catch (error) {
      showApiProblem(problem, error);
    } finally {
      busy(form, false);
    }
  }

  $("desk-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const settings = { scope: $("desk-scope").value.trim() };
    if (!/^([1-8]\d|national)$/.test(settings.scope)) {
      showProblem($("desk-problem"), new window.NL.Problem(422, { title: "请填写省份代码 A province (or national) is needed", detail: "" }));
      return;
    }
    show(settings);
  });
  // A coordinator works its own desk (the session's scope); an administrator picks one.
  window.NL.staff($("desk-signed-out")).then((signed) => {
    if (!signed) return;
    $("desk-form").hidden = false;
    if (signed.role === "coordinator") {
      $("desk-scope").value = signed.scope;
      $("desk-scope").readOnly = true;
      show({ scope: signed.scope });
    }
  });
})();
