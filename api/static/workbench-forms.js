/* The clerk's workbench forms: checked before sending. Every problem of a form is shown at
   once, beside its field (aria-invalid, the message tied by aria-describedby) and in the form's
   alert, and the first field in error takes the focus. The server checks again: its problem is
   shown the same way. Text only (textContent), never markup. */
"use strict";

window.NLForms = (function () {
  const { h, bi } = window.NL;
  const TRACKING = /^[0-9A-HJKMNP-TV-Z]{12}$/; // Crockford base32, as the ledger issues codes
  const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const CHECKS = "10X98765432";

  /** A tracking code as typed, normalised (upper case, no spaces or hyphens). */
  function trackingCode(value) {
    return String(value || "").toUpperCase().replace(/[\s-]/g, "");
  }

  function isTrackingCode(value) {
    return TRACKING.test(trackingCode(value));
  }

  /** Why a citizen ID is not one ("" when it is): shape, birth date, check character. */
  function citizenIdProblem(value) {
    const id = String(value || "").trim().toUpperCase();
    if (!/^\d{17}[\dX]$/.test(id)) return ["身份证号为 17 位数字加 1 位校验码（数字或 X）", "17 digits and a check character (digit or X)"];
    const born = new Date(id.slice(6, 10) + "-" + id.slice(10, 12) + "-" + id.slice(12, 14) + "T00:00:00Z");
    if (Number.isNaN(born.getTime()) || born.toISOString().slice(0, 10) !== id.slice(6, 10) + "-" + id.slice(10, 12) + "-" + id.slice(12, 14)) {
      return ["身份证号中的出生日期无效", "the birth date in the ID is not a date"];
    }
    let sum = 0;
    for (let i = 0; i < 17; i += 1) sum += Number(id[i]) * WEIGHTS[i];
    if (CHECKS[sum % 11] !== id[17]) return ["身份证号校验码不正确", "the check character is wrong"];
    return "";
  }

  /** The message element under a field (made once), tied to it by aria-describedby. */
  function messageOf(input) {
    const id = input.id + "-error";
    let message = document.getElementById(id);
    if (!message) {
      message = h("p", { id, className: "field-error", hidden: true });
      (input.closest(".field") || input.parentElement).append(message);
      const described = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
      if (!described.includes(id)) input.setAttribute("aria-describedby", described.concat(id).join(" "));
    }
    return message;
  }

  /** Clear every mark of the form's fields. */
  function clear(form) {
    for (const input of form.querySelectorAll("input, textarea, select")) {
      input.removeAttribute("aria-invalid");
      const message = document.getElementById(input.id + "-error");
      if (message) {
        message.hidden = true;
        message.replaceChildren();
      }
    }
  }

  /** Mark each [{input, zh, en}] and list them all in `alert` under one title; focus the first.
      The alert names each field by its API name too (what a problem+json would name). */
  function show(form, alert, errors) {
    clear(form);
    alert.replaceChildren(h("strong", {}, bi("填写有误，请修改以下 " + errors.length + " 处", "Invalid field: " + errors.length + " to fix")));
    const list = h("ul", {});
    for (const error of errors) {
      error.input.setAttribute("aria-invalid", "true");
      const message = messageOf(error.input);
      message.replaceChildren(bi(error.zh, error.en));
      message.hidden = false;
      const link = h("a", { href: "#" + error.input.id }, bi(error.zh, error.en));
      link.addEventListener("click", (event) => {
        event.preventDefault();
        error.input.focus();
      });
      list.append(h("li", {}, link, " (" + (error.input.dataset.field || error.input.name) + ")"));
    }
    alert.append(list);
    alert.hidden = false;
    errors[0].input.focus();
  }

  /** A server problem that names a field of the form: that field marked and focused (the
      alert shows the problem itself). */
  function markServer(form, problem) {
    const where = problem && problem.body && (problem.body.field || problem.body.parameter);
    const input = where && Array.from(form.elements).find((e) => e.name === where || e.dataset.field === where);
    if (!input) return false;
    clear(form);
    input.setAttribute("aria-invalid", "true");
    const message = messageOf(input);
    message.replaceChildren(problem.title + (problem.detail ? ": " + problem.detail : ""));
    message.hidden = false;
    input.focus();
    return true;
  }

  return { trackingCode, isTrackingCode, citizenIdProblem, clear, show, markServer };
})();
