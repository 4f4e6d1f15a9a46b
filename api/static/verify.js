/* /verify: anyone checks an e-certificate. The QR code's content is pasted (or arrives in the
   address's #fragment, which no server sees, and is then dropped from the address), posted to
   POST /verify, and the answer shown: what the certificate states, who signed it, its status. */
"use strict";

(function () {
  const { h, api, bi, label, serviceName, issuerName, resultName, showProblem, hideProblem, locality, dateTime, busy } = window.NL;
  const $ = (id) => document.getElementById(id);

  function fact(term, value) {
    return h("div", {}, h("dt", {}, term), h("dd", {}, value));
  }

  /** The status in words: valid, superseded (by which, when), revoked (when), invalid (why). */
  function verdict(answer) {
    const node = $("verdict");
    node.className = "verdict cert-" + answer.status;
    node.replaceChildren(h("span", { className: "badge cert-" + answer.status }, label("certificateStatus", answer.status)));
    const more = $("verdict-detail");
    more.replaceChildren();
    if (answer.status === "valid") {
      more.append(bi("签名有效，内容与登记记录一致，证照现行有效。", "The signature verifies, the content is the record's, and the certificate is in force."));
    } else if (answer.status === "superseded") {
      more.append(
        bi("此证照已因更正而被新证照取代，请以新证照为准：", "A correction replaced this certificate; the new one is:"),
        " ",
        h("code", { id: "superseded-by" }, answer.superseded_by || "—"),
        answer.superseded_at ? " · " + dateTime(answer.superseded_at) : "",
      );
    } else if (answer.status === "revoked") {
      more.append(bi("出生信息作废后，签发部门已撤销此证照", "Revoked by its office after the birth notification was voided"), answer.revoked_at ? " · " + dateTime(answer.revoked_at) : "");
    } else if (answer.status === "revocation-pending") {
      more.append(bi("出生信息已作废，签发部门正在撤销此证照", "The birth notification was voided; the office is revoking this certificate"), answer.revocation_requested_at ? " · " + dateTime(answer.revocation_requested_at) : "");
    } else {
      more.append(h("strong", { id: "invalid-reason", dataset: { reason: answer.reason || "" } }, label("invalidReason", answer.reason)));
      const known = answer.reason in window.NL.LABEL_KINDS.invalidReason;
      if (answer.detail && !known) more.append(" ", h("span", { lang: "en" }, "(" + answer.detail + ")"));
      more.append(h("br"), bi("请勿采信此证照所述内容。", "Do not rely on anything it states."));
    }
  }

  /** What a verified certificate states and who signed it (nothing of an invalid one: its
      content cannot be trusted). */
  function stated(answer) {
    const list = $("stated");
    list.replaceChildren();
    if (answer.status === "invalid") return;
    const result = answer.result || {};
    const subject = answer.subject || {};
    list.append(
      fact(bi("证照类型", "Certificate"), label("certificateType", answer.certificate_type)),
      fact(bi("办理事项", "Service"), serviceName(answer.service)),
      fact(resultName(result.field), h("code", {}, String(result.value == null ? "—" : result.value))),
      fact(bi("新生儿姓名", "Child's name"), subject.name || bi("未登记", "not yet named")),
      fact(bi("出生日期", "Birth date"), subject.birth_date || "—"),
      fact(bi("签发机关", "Signed by"), issuerName(answer.issuer)),
      fact(bi("签发地", "Issued in"), locality(answer.locality)),
      fact(bi("签发时间", "Issued at"), answer.issued_at ? dateTime(answer.issued_at) : "—"),
      fact(bi("证照编号", "Certificate id"), h("code", {}, answer.jti || "—")),
      fact(bi("签名密钥", "Signing key"), h("code", {}, answer.kid || "—")),
    );
  }

  async function verify(event) {
    if (event) event.preventDefault();
    const form = $("verify-form");
    const problem = $("verify-problem");
    hideProblem(problem);
    const certificate = $("certificate").value.replace(/\s+/g, "");
    if (!certificate) {
      showProblem(problem, new window.NL.Problem(422, { title: "请粘贴二维码内容 Paste the QR code's content", detail: "" }));
      return;
    }
    busy(form, true);
    try {
      const answer = await api("POST", "/verify", null, { certificate });
      verdict(answer);
      stated(answer);
      $("outcome").hidden = false;
    } catch (error) {
      $("outcome").hidden = true;
      showProblem(problem, error);
    } finally {
      busy(form, false);
    }
  }

  /** /verify#<certificate>: the fragment never reaches a server; it is dropped from the
      address too (and from the history), then verified. */
  function fromFragment() {
    if (window.location.hash.length <= 1) return;
    let given = window.location.hash.slice(1);
    try {
      given = decodeURIComponent(given);
    } catch (error) {
      /* not percent-encoded: as it is */
    }
    $("certificate").value = given;
    window.history.replaceState(null, "", window.location.pathname);
    verify();
  }

  $("verify-form").addEventListener("submit", verify);
  window.addEventListener("hashchange", fromFragment);
  fromFragment();
})();
