/* Shared helpers of the pages: JSON API calls, problem+json display, labels, localities.
   Everything shown is built with textContent (never innerHTML), so API data cannot inject markup. */
"use strict";

window.NL = (function () {
  const reference = JSON.parse(document.getElementById("reference").textContent);

  const LABELS = {
    caseState: {
      notified: ["已通知", "notified"],
      applied: ["已申请", "applied"],
      "in-progress": ["办理中", "in progress"],
      completed: ["已办结", "completed"],
      voided: ["已作废", "voided"],
      closed: ["已终止", "closed"],
      voiding: ["作废中，待各部门撤销", "voiding: offices revoking their results"],
    },
    state: {
      planned: ["已规划", "planned"],
      dispatched: ["待收件", "dispatched"],
      received: ["已收件", "received"],
      "supplement-requested": ["待补正", "supplement requested"],
      approved: ["已办结", "approved"],
      rejected: ["不予办理", "rejected"],
      withdrawn: ["已撤回", "withdrawn"],
      blocked: ["因前置事项不予办理而暂停", "blocked"],
      "correction-requested": ["待审核更正", "correction requested"],
      "revocation-requested": ["待撤销", "revocation requested"],
      revoked: ["已撤销", "revoked"],
    },
    role: {
      "receive-for-other": ["代收", "receive for another locality"],
      "decide-here": ["本地办理", "decide here"],
      both: ["收件并办理", "receive and decide"],
    },
    mode: {
      online: ["全程网办", "whole-process online"],
      "off-site": ["异地代收代办", "off-site collection"],
      joint: ["多地联办", "multi-place joint handling"],
      "remote-window": ["远程虚拟窗口", "remote virtual window"],
    },
    event: {
      Notified: ["医院推送出生信息", "birth notified by the hospital"],
      NotificationCorrected: ["医院更正信息", "hospital correction"],
      Voided: ["出生信息作废", "notification voided"],
      FamilyApplied: ["家庭提交申请", "family applied"],
      ServicesPlanned: ["服务已规划", "services planned"],
      Completed: ["全部办结", "all services completed"],
      Rated: ["已评价", "rated"],
      Planned: ["已规划", "planned"],
      Replanned: ["重新规划", "re-planned"],
      Dispatched: ["已推送至办理部门", "sent to the office"],
      CorrectionFlagged: ["信息更正已告知", "correction flagged"],
      Received: ["已收件", "received"],
      SupplementRequested: ["一次性告知补正", "supplement requested"],
      Supplemented: ["已补正", "supplemented"],
      Approved: ["已办结", "approved"],
      Rejected: ["不予办理", "rejected"],
      Withdrawn: ["已撤回", "withdrawn"],
      DeadlineApproaching: ["临近办结时限", "deadline approaching"],
      Overdue: ["已逾期", "overdue"],
      DeemedAccepted: ["逾期未告知，视为受理", "deemed accepted (no notice in time)"],
      Delivered: ["已送达部门系统", "delivered to the office system"],
      DeliveryFailed: ["送达失败，将重试", "delivery failed, will retry"],
      Blocked: ["因前置事项不予办理而暂停", "blocked by a rejection"],
      Resubmitted: ["已重新申请", "resubmitted"],
      Closed: ["办件已终止", "case closed"],
      VoidRequested: ["出生信息作废，待各部门撤销", "voided: offices to revoke their results"],
      VoidFinished: ["各部门已撤销，案件作废", "every result revoked: voided"],
      FamilyCorrected: ["家庭更正申请信息", "family correction"],
      Redispatched: ["更正信息已告知", "corrected values sent"],
      CorrectionRequested: ["更正申请待审核", "correction requested"],
      CorrectionApproved: ["更正已核准，结果重新出具", "correction approved, result re-issued"],
      CorrectionRejected: ["更正不予核准", "correction rejected"],
      RevocationRequested: ["待撤销办理结果", "revocation requested"],
      Revoked: ["办理结果已撤销", "result revoked"],
      // a remote virtual window session's (stream "remote-window:<service>")
      Booked: ["远程窗口会话已预约", "remote window session booked"],
      Started: ["远程窗口会话开始", "remote window session started"],
      Joined: ["加入远程窗口会话", "joined the remote window session"],
      Ended: ["远程窗口会话结束", "remote window session ended"],
      Cancelled: ["远程窗口会话取消", "remote window session cancelled"],
    },
    certificateType: {
      "birth-medical-certificate": ["出生医学证明", "Birth medical certificate"],
      "vaccination-record": ["预防接种证", "Vaccination record"],
      "household-registration-record": ["户口登记记录（公民身份号码）", "Household registration record (citizen ID)"],
      "insurance-enrolment": ["医保参保登记凭证", "Medical insurance enrolment"],
      "social-security-card": ["社会保障卡", "Social security card"],
    },
    certificateStatus: {
      valid: ["有效", "valid"],
      superseded: ["已被更正后的证照取代", "superseded by a correction"],
      revoked: ["已撤销", "revoked"],
      "revocation-pending": ["撤销中", "revocation pending"],
      invalid: ["无效", "invalid"],
    },
    // why POST /verify found a certificate invalid (docs/api.md, E-certificates)
    invalidReason: {
      "unsupported-type": ["不是本系统签发的电子证照", "not an e-certificate of this ledger"],
      "unknown-key": ["签名密钥不在公布的密钥中", "signed with a key the ledger does not publish"],
      "key-withdrawn": ["签名密钥已被撤回（可能已泄露），此签名不可信；请重新获取证照（以现行密钥签名）", "signed with a key the ledger has withdrawn (compromised): not to be trusted; get the certificate again, signed with the current key"],
      "bad-signature": ["签名不符：证照内容被改动，或由其他密钥签名", "the signature does not match: altered, or signed with another key"],
      malformed: ["签名无法读取", "the signature could not be read"],
      "wrong-issuer": ["所称签发机关与签名密钥不符", "the issuer named is not the key's office"],
      "unknown-id": ["系统未签发此编号的证照", "no certificate with this id was issued"],
      "not-the-record": ["签名有效，但与登记记录不符", "signed by the ledger, but not what its record holds"],
    },
  };

  const RESULTS = {
    certificate_number: ["出生医学证明编号", "Birth certificate number"],
    vaccination_record_number: ["预防接种证编号", "Vaccination record number"],
    citizen_id: ["公民身份号码", "Citizen ID number"],
    enrolment_number: ["参保登记号", "Enrolment number"],
    card_number: ["社会保障卡号", "Social security card number"],
    decision_number: ["待遇核定决定书编号", "Decision number"],
    marital_status_record_a: ["甲方婚姻状况核查记录编号", "Party A's marital status check"],
    marital_status_record_b: ["乙方婚姻状况核查记录编号", "Party B's marital status check"],
    marriage_certificate_number: ["结婚证字号", "Marriage certificate number"],
  };

  /** The name of a result field, e.g. citizen_id → 公民身份号码 Citizen ID number. */
  function resultName(field) {
    const names = RESULTS[field] || ["办理结果编号", "Result number"];
    return bi(names[0], names[1]);
  }

  /** An e-certificate's issuer, urn:newborn-ledger:issuer:<province>:<authority>, in words:
      the province's name (once known) and the authority's. */
  function issuerName(iss) {
    const parts = /^urn:newborn-ledger:issuer:(\d\d):([a-z-]+)$/.exec(iss || "");
    if (!parts) return document.createTextNode(iss || "—");
    return h("span", {}, locality(parts[1] + "0000"), " ", authorityName(parts[2]));
  }

  /** zh text followed by the English text in a lang="en" span. */
  function bi(zh, en) {
    const fragment = document.createDocumentFragment();
    fragment.append(zh + " ");
    const span = document.createElement("span");
    span.lang = "en";
    span.textContent = en;
    fragment.append(span);
    return fragment;
  }

  function label(kind, code) {
    const found = (LABELS[kind] || {})[code];
    return found ? bi(found[0], found[1]) : document.createTextNode(code == null ? "—" : String(code));
  }

  function serviceName(code) {
    const service = reference.services[code];
    return service ? bi(service.zh, service.en) : document.createTextNode(code);
  }

  function authorityName(code) {
    const authority = reference.authorities[code];
    return authority ? bi(authority.zh, authority.en) : document.createTextNode(code);
  }

  /** h("p", {className: "x"}, "text", node) → element; strings become text nodes. */
  function h(tag, props, ...children) {
    const element = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "dataset") Object.assign(element.dataset, value);
      else if (key in element && key !== "list") element[key] = value;
      else element.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      element.append(child instanceof Node ? child : String(child));
    }
    return element;
  }

  /** An RFC 9457 problem (or a network failure) as an Error. */
  class Problem extends Error {
    constructor(status, body) {
      super((body && (body.detail || body.title)) || "HTTP " + status);
      this.status = status;
      this.title = (body && body.title) || (status ? "HTTP " + status : "Network error");
      this.detail = (body && body.detail) || "";
      this.body = body || {};
    }
  }

  let sessionPromise = null;
  /** The staff session (GET /session: user, role, scope, authority, csrf_token), or null
      when not signed in. Asked once per page. */
  function session() {
    if (!sessionPromise) {
      sessionPromise = api("GET", "/session", null).catch((error) => {
        if (error.status === 401) return null;
        sessionPromise = null;
        throw error;
      });
    }
    return sessionPromise;
  }

  /** Call the JSON API; resolves with the parsed body, rejects with a Problem. With a token
      it sends it as a bearer token; without one the staff session's cookie goes (same origin
      only), with the session's CSRF token on unsafe methods. */
  async function api(method, path, token, body) {
    // Chinese first: problems come in Chinese with the English beside (title_en, detail_en)
    const headers = { Accept: "application/json, application/problem+json", "Accept-Language": "zh-CN, en;q=0.8" };
    if (token) headers.Authorization = "Bearer " + token;
    const init = { method, headers, credentials: token ? "omit" : "same-origin", cache: "no-store" };
    if (!token && !["GET", "HEAD"].includes(method)) {
      const signed = await session();
      if (signed) headers["X-CSRF-Token"] = signed.csrf_token;
    }
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (error) {
      throw new Problem(0, { title: "网络错误 Network error", detail: String(error.message || error) });
    }
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (error) {
      data = { title: "HTTP " + response.status, detail: text.slice(0, 200) };
    }
    if (!response.ok) throw new Problem(response.status, data);
    return data;
  }

  /** Show a problem's title and detail in an alert element (and the field it names). */
  function showProblem(element, error) {
    element.replaceChildren();
    const problem = error instanceof Problem ? error : new Problem(0, { title: "错误 Error", detail: String(error) });
    element.append(h("strong", {}, problem.title), problem.detail ? ": " + problem.detail : "");
    const english = [problem.body.title_en, problem.body.detail_en].filter(Boolean).join(": ");
    if (english) element.append(" ", h("span", { lang: "en" }, english)); // the English beside
    const where = problem.body.field || problem.body.parameter;
    if (where) element.append(" (" + where + ")");
    element.hidden = false;
  }

  function hideProblem(element) {
    element.hidden = true;
    element.replaceChildren();
  }

  /** sessionStorage, or nothing at all when the browser refuses it. */
  const store = {
    get(key) {
      try {
        return window.sessionStorage.getItem(key);
      } catch (error) {
        return null;
      }
    },
    set(key, value) {
      try {
        window.sessionStorage.setItem(key, value);
      } catch (error) {
        /* private mode: the user re-enters it */
      }
    },
    remove(key) {
      try {
        window.sessionStorage.removeItem(key);
      } catch (error) {
        /* nothing stored */
      }
    },
  };

  const localityCache = new Map();
  /** The name of a 6-digit locality code (the code itself when unknown). */
  function localityName(code) {
    if (!/^[1-8]\d{5}$/.test(code || "")) return Promise.resolve(code || "—");
    if (!localityCache.has(code)) {
      localityCache.set(
        code,
        api("GET", "/localities/" + code).then(
          (body) => body.name,
          () => code,
        ),
      );
    }
    return localityCache.get(code);
  }

  /** An element that shows a locality's name, then its code, once the name is known. */
  function locality(code) {
    const element = h("span", { className: "locality" }, code || "—");
    if (code) {
      localityName(code).then((name) => {
        if (name !== code) element.replaceChildren(name, h("span", { className: "code" }, code));
      });
    }
    return element;
  }

  /** Show a locality's name under its input as the user types. */
  function describeLocality(input, hint) {
    const original = Array.from(hint.childNodes, (node) => node.cloneNode(true));
    const update = () => {
      const code = input.value.trim();
      if (!/^[1-8]\d{5}$/.test(code)) {
        hint.replaceChildren(...original.map((node) => node.cloneNode(true)));
        return;
      }
      localityName(code).then((name) => {
        if (input.value.trim() === code) hint.textContent = name === code ? "未知区划 unknown code" : name;
      });
    };
    input.addEventListener("input", update);
    update();
  }

  const DATE_TIME = new Intl.DateTimeFormat("zh-CN", {
    timeZone: "Asia/Shanghai",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hour12: false,
  });

  function dateTime(iso) {
    const moment = new Date(iso);
    return Number.isNaN(moment.getTime()) ? String(iso) : DATE_TIME.format(moment);
  }

  /** The current month in China time, as YYYY-MM. */
  function chinaMonth() {
    const parts = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit" }).formatToParts(new Date());
    const part = (type) => parts.find((p) => p.type === type).value;
    return part("year") + "-" + part("month");
  }

  /** Staff pages: show who is signed in and a sign-out button in the header; the session,
      or null (then `signedOut` shows the way to the sign-in page). */
  async function staff(signedOut) {
    let signed = null;
    try {
      signed = await session();
    } catch (error) {
      showProblem(signedOut, error);
      return null;
    }
    const who = document.getElementById("who");
    if (!signed) {
      signedOut.replaceChildren(bi("请先登录", "Please sign in first"), " ", h("a", { href: "/sign-in" }, bi("登录", "Sign in")));
      signedOut.hidden = false;
      return null;
    }
    document.getElementById("who-user").textContent = signed.user + " · " + signed.role + " " + signed.scope + (signed.authority ? " " + signed.authority : "");
    who.hidden = false;
    document.getElementById("sign-out").addEventListener("click", async () => {
      try {
        await api("POST", "/sign-out", null);
      } finally {
        window.location.assign("/sign-in?from=out");
      }
    });
    return signed;
  }

  /** A problem, and when the session has ended, the way back to the sign-in page. */
  function showApiProblem(element, error) {
    showProblem(element, error);
    if (error instanceof Problem && error.status === 401) {
      element.append(" ", h("a", { href: "/sign-in?from=ended" }, bi("重新登录", "Sign in again")));
    }
  }

  function busy(form, on) {
    for (const button of form.querySelectorAll("button")) button.disabled = on;
    form.setAttribute("aria-busy", on ? "true" : "false");
  }

  return {
    reference,
    LABEL_KINDS: LABELS,
    bi,
    label,
    serviceName,
    authorityName,
    resultName,
    issuerName,
    h,
    api,
    session,
    staff,
    Problem,
    showProblem,
    showApiProblem,
    hideProblem,
    store,
    localityName,
    locality,
    describeLocality,
    dateTime,
    chinaMonth,
    busy,
  };
})();
