/* The police window's ID card application (POST /id-card-applications), signed in as a
   public-security office: every problem is shown beside its field at once; the answer is the
   case id and the applicant's tracking code, to hand over with the receipt. */
"use strict";

(function () {
  const { h, api, bi, hideProblem, showApiProblem, describeLocality, busy } = window.NL;
  const $ = (id) => document.getElementById(id);
  const FIELDS = ["name", "citizen_id", "phone", "hukou_division", "reason", "identity_document"];

  function clearErrors() {
    for (const name of FIELDS) {
      const slot = $("f-" + name + "-error");
      slot.hidden = true;
      slot.replaceChildren();
      const input = $("f-" + name);
      if (input) input.removeAttribute("aria-invalid");
    }
  }

  function showErrors(problem) {
    const items = (problem.body && problem.body.errors) || [];
    let placed = 0;
    for (const item of items) {
      const name = String(item.pointer || "").replace(/^\//, "");
      const slot = $("f-" + name + "-error");
      if (!slot) continue;
      slot.append(h("span", {}, item.detail_zh || item.detail), " ");
      if (item.detail_en) slot.append(h("span", { lang: "en" }, item.detail_en));
      slot.hidden = false;
      const input = $("f-" + name);
      if (input) input.setAttribute("aria-invalid", "true");
      placed += 1;
    }
    return placed;
  }

  function body() {
    const form = $("apply-form");
    const data = {};
    for (const name of ["name", "citizen_id", "phone", "hukou_division", "identity_document"]) {
      const value = form.elements[name].value.trim();
      if (value || name !== "phone") data[name] = value;
    }
    const reason = form.querySelector("input[name=reason]:checked");
    data.reason = reason ? reason.value : "";
    data.temporary_id_card = $("f-temporary_id_card").checked;
    return data;
  }

  async function submit(event) {
    event.preventDefault();
    const form = $("apply-form");
    const problem = $("apply-problem");
    hideProblem(problem);
    clearErrors();
    $("apply-done").hidden = true;
    busy(form, true);
    try {
      const opened = await api("POST", "/id-card-applications", null, body());
      const done = $("apply-done");
      done.replaceChildren(
        h("p", {}, bi("已受理。", "Case opened.")),
        h("p", {}, bi("查询码（交申请人）", "Tracking code (for the applicant)"), ": ", h("strong", { id: "apply-tracking" }, opened.tracking_code)),
        h("p", { class: "hint" }, bi("申请人凭查询码和身份证号后六位在“家庭”页查看进度。", "The applicant follows the case on the Family page with this code and the last 6 of the citizen ID."))
      );
      done.hidden = false;
      form.reset();
    } catch (error) {
      showErrors(error); // beside each field, and the summary above the form
      showApiProblem(problem, error);
    } finally {
      busy(form, false);
    }
  }

  window.NL.staff($("apply-signed-out")).then((signed) => {
    if (!signed) return;
    if (signed.role !== "office" || signed.authority !== "public-security") {
      const out = $("apply-signed-out");
      out.replaceChildren(bi("仅公安窗口可受理身份证申请。", "Only a public-security window opens ID card applications."));
      out.hidden = false;
      return;
    }
    $("apply-window").replaceChildren(bi("受理窗口", "Applying window"), ": " + signed.scope + " " + signed.authority);
    $("apply-section").hidden = false;
    describeLocality($("f-hukou_division"), $("f-hukou_division-name"));
    $("apply-form").addEventListener("submit", submit);
  });
})();
