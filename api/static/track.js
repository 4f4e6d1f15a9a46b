/* The family page: find the case with tracking code + verifier, then follow its timeline. */
"use strict";

(function () {
  const { h, api, bi, label, serviceName, authorityName, issuerName, resultName, showProblem, hideProblem, store, locality, dateTime, busy } = window.NL;
  const KEY = "newborn-ledger.family";
  const ACCEPT = "application/pdf,image/jpeg,image/png,.pdf,.jpg,.jpeg,.png";
  const UPLOAD_PROBLEMS = {
    "document-type-mismatch": "文件类型与内容不符",
    "unsupported-document-type": "仅接受 PDF、JPEG、PNG 文件",
    "document-too-large": "文件过大",
    "decompression-bomb": "文件解压后过大",
    "active-content": "PDF 含有脚本等活动内容",
    "damaged-document": "文件已损坏或已加密",
  };
  const $ = (id) => document.getElementById(id);
  const TITLE = Array.from($("track-title").childNodes, (node) => node.cloneNode(true)); // births'
  let session = null; // {case_id, token}
  let current = null; // the last case view
  let guides = new Map(); // service_request_id → its guide entry (waits, collection)
  let qrCodes = new Map(); // jti → {certificate, url}: each QR code's blob: URL, fetched once
  // a request in one of these states has decided a result: the case has certificates
  const DECIDED = ["approved", "correction-requested", "revocation-requested", "revoked"];

  function saved() {
    try {
      const value = JSON.parse(store.get(KEY) || "null");
      return value && value.case_id && value.token ? value : null;
    } catch (error) {
      return null;
    }
  }

  function showLogin(problem) {
    session = null;
    current = null;
    $("case").hidden = true;
    $("marriage").hidden = true;
    $("track-title").replaceChildren(...TITLE.map((node) => node.cloneNode(true)));
    $("login").hidden = false;
    if (problem) showProblem($("login-problem"), problem);
    $("tracking-code").focus();
  }

  async function signOut() {
    if (session) {
      try {
        await api("DELETE", "/track", session.token); // the token is revoked, not only forgotten
      } catch (error) {
        /* already expired or revoked: nothing left to end */
      }
    }
    store.remove(KEY);
    $("marriage").hidden = true;
    forgetQrCodes();
    $("certificates").replaceChildren();
    $("login-form").reset();
    hideProblem($("login-problem"));
    showLogin();
  }

  async function login(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const problem = $("login-problem");
    hideProblem(problem);
    const code = $("tracking-code").value.trim().toUpperCase();
    const verifier = $("verifier").value.trim();
    if (!code || !verifier) {
      showProblem(problem, new window.NL.Problem(422, { title: "请填写两项 Fill in both fields", detail: "追踪码和验证信息都需要 tracking code and verifier are both needed" }));
      return;
    }
    busy(form, true);
    try {
      const issued = await api("POST", "/track", null, { tracking_code: code, verifier });
      session = { case_id: issued.case_id, token: issued.token };
      store.set(KEY, JSON.stringify(session));
      $("verifier").value = "";
      await load();
    } catch (error) {
      showProblem(problem, error);
    } finally {
      busy(form, false);
    }
  }

  async function load() {
    if (session.kind in WING_VIEWS) return loadWing(session.kind);
    try {
      const path = "/cases/" + encodeURIComponent(session.case_id);
      const [view, guide] = await Promise.all([api("GET", path, session.token), api("GET", path + "/guide", session.token)]);
      current = view;
      guides = new Map((guide.services || []).map((g) => [g.service_request_id, g]));
      renderProgress(guide.progress);
      render(view);
      await loadCertificates(view);
    } catch (error) {
      // no birth case: an applicant-opened case (marriage, ID card) signs in on the same page
      if (error.status === 404 && !session.kind) {
        for (const kind of Object.keys(WING_VIEWS)) if (await loadWing(kind, true)) return;
      }
      if (error.status === 401 || error.status === 404) {
        store.remove(KEY);
        showLogin(error);
      } else {
        showProblem($("case-problem"), error);
      }
    }
  }

  /* A marriage case (GET /marriage-registrations/{id}): its state, who acts next and by when,
     each service's state, the applicants as shown (IDs masked) and what to bring. */
  const PLACES = {
    "party-a-hukou": ["甲方户籍地", "party A's hukou place"],
    "party-b-hukou": ["乙方户籍地", "party B's hukou place"],
    "residence-permit": ["居住证签发地", "the residence permit's place"],
  };
  const ACTIONS = {
    "receive the request": ["收件", "receive the request"],
    decide: ["办理", "decide"],
    "route the request": ["分派", "route the request"],
    "waits for the services it depends on": ["等待前置事项办结", "waits for the services it depends on"],
    "supply what the office asked for": ["按一次性告知补正", "supply what the office asked for"],
    "resubmit or close the case": ["重新申请或终止办件", "resubmit or close the case"],
  };

  /** Who acts next on a request ("civil-affairs 330424", "applicants", "routing desk 32"). */
  function marriageWho(who) {
    const office = /^([a-z-]+) (\d{6})$/.exec(who || "");
    if (office) return h("span", {}, authorityName(office[1]), " · ", locality(office[2]));
    if (who === "applicants") return bi("您（申请人）", "you, the applicants");
    if (who === "nobody yet") return bi("暂无", "nobody yet");
    const desk = /^routing desk (\d+)$/.exec(who || "");
    if (desk) return bi("跨省通办调度台 " + desk[1], "the routing desk " + desk[1]);
    return document.createTextNode(who || "—");
  }

  function marriageAction(action) {
    const refused = /^act on the refused (.+)$/.exec(action || "");
    if (refused) return h("span", {}, bi("处理不予办理的前置事项：", "act on the refused"), " ", serviceName(refused[1]));
    const known = ACTIONS[action];
    return known ? bi(known[0], known[1]) : document.createTextNode(action || "");
  }

  function marriageNext(next) {
    if (!next) return bi("无：办件已结束", "Nobody: the case is over");
    const due = next.due ? h("span", {}, " · ", bi("截止", "by"), " " + next.due) : "";
    return h("span", {}, marriageWho(next.who), " · ", marriageAction(next.action), " · ", serviceName(next.service), due);
  }

  /* An ID card case (GET /id-card-applications/{id}): where the card is, where to collect
     it, who acts next and by when, each step's state. */
  const WHERE = {
    "being-decided": ["户籍地公安机关审核制证中", "being decided and made at the hukou place"],
    produced: ["已制证", "produced"],
    "in-transit": ["寄送至受理窗口途中", "on its way to the window"],
    "overdue-in-transit": ["寄送超时，窗口正在查询", "late in transit: the window is tracing it"],
    arrived: ["已到达受理窗口，可领取", "arrived at the window: ready to collect"],
    collected: ["已领取", "collected"],
    refused: ["不予办理", "refused"],
    "not-planned": ["未安排", "not planned"],
  };

  const CARD_ACTIONS = {
    "accept the application (受理) at the window": ["窗口受理申请", "accept the application at the window"],
    "accept the temporary card application": ["受理临时身份证申请", "accept the temporary card application"],
    "decide and produce the card (审核制证)": ["审核并制证", "decide and produce the card"],
    "record the card's arrival at the window": ["登记证件到达窗口", "record the card's arrival at the window"],
    "hand the card over (collection receipt)": ["发放证件（领取回执）", "hand the card over"],
    "issue the temporary card": ["签发临时身份证", "issue the temporary card"],
    "bring what the notice names": ["按一次性告知补齐材料", "bring what the notice names"],
    "resubmit or close the case": ["重新申请或终止办件", "resubmit or close the case"],
    "waits for the card": ["等待证件制作完成", "waits for the card"],
    "route and dispatch": ["待分派", "route and dispatch"],
  };
  const CARD_PARTIES = {
    applicant: ["您（申请人）", "you, the applicant"],
    ledger: ["系统自动", "the ledger"],
    "routing-desk": ["跨省通办调度台", "the routing desk"],
  };

  function idCardNext(next) {
    if (!next) return bi("无：办件已结束或等待中", "Nobody: the case is over or waiting");
    const party = CARD_PARTIES[next.party];
    const who = next.party === "office"
      ? h("span", {}, authorityName(next.authority), " · ", locality(next.locality))
      : party ? bi(party[0], party[1]) : document.createTextNode(next.party);
    const known = CARD_ACTIONS[next.action];
    const action = known ? bi(known[0], known[1]) : document.createTextNode(next.action || "");
    const due = next.due ? h("span", {}, " · ", bi("截止", "by"), " " + next.due) : "";
    return h("span", {}, who, " · ", action, due);
  }

  function renderIdCard(view) {
    $("login").hidden = true;
    $("case").hidden = true;
    $("marriage").hidden = true;
    $("idcard").hidden = false;
    $("track-title").replaceChildren(bi("身份证办理进度", "Your ID card"));
    hideProblem($("idcard-problem"));
    $("idcard-code").textContent = view.tracking_code || "—";
    $("idcard-state").replaceChildren(h("span", { className: "badge state-" + view.state }, label("caseState", view.state)));
    const card = view.card || {};
    const where = WHERE[card.where] || [card.where || "—", card.where || "—"];
    $("idcard-where").replaceChildren(bi(where[0], where[1]));
    $("idcard-where").dataset.where = card.where || "";
    $("idcard-collect").replaceChildren(card.collect_at ? h("span", {}, authorityName(card.collect_at.authority), " · ", locality(card.collect_at.locality)) : "—");
    $("idcard-next").replaceChildren(idCardNext(view.next));
    $("idcard-steps").replaceChildren(
      ...(view.steps || []).map((step) => {
        const facts = h(
          "dl",
          { className: "facts" },
          detail(bi("办理地", "Handling"), locality(step.handling.locality)),
          detail(bi("收件地", "Receiving"), locality(step.receiving.locality)),
          detail(bi("时限", "Due"), step.due || "—"),
        );
        for (const [field, value] of Object.entries(step.result || {})) {
          facts.append(h("div", { className: "wide result" }, h("dt", {}, resultName(field)), h("dd", {}, h("code", {}, String(value)))));
        }
        if (step.next) facts.append(h("div", { className: "wide" }, h("dt", {}, bi("下一步", "Next")), h("dd", {}, idCardNext(step.next))));
        return h(
          "li",
          { className: "service", dataset: { service: step.service } },
          h("div", { className: "service-head" }, h("h4", {}, serviceName(step.service)), h("span", { className: "badge state-" + step.state }, label("state", step.state))),
          facts,
        );
      }),
    );
  }

  /* The other wings' cases an applicant opened: each by its kind, its read and its view. */
  const WING_VIEWS = {
    marriage: ["/marriage-registrations/", (view) => renderMarriage(view), "marriage-problem"],
    "id-card": ["/id-card-applications/", (view) => renderIdCard(view), "idcard-problem"],
  };

  /** Load a wing's case view; `probe`: after the birth view's 404, false when it is none. */
  async function loadWing(kind, probe) {
    const [path, render, problem] = WING_VIEWS[kind];
    try {
      const view = await api("GET", path + encodeURIComponent(session.case_id), session.token);
      if (session.kind !== kind) {
        session.kind = kind;
        store.set(KEY, JSON.stringify(session));
      }
      render(view);
      return true;
    } catch (error) {
      if (probe && error.status === 404) return false;
      if (error.status === 401 || error.status === 404) {
        store.remove(KEY);
        showLogin(error);
      } else {
        showProblem($(problem), error);
      }
      return true;
    }
  }

  function renderMarriage(view) {
    $("login").hidden = true;
    $("case").hidden = true;
    $("marriage").hidden = false;
    $("track-title").replaceChildren(bi("婚姻登记办理进度", "Your marriage registration"));
    hideProblem($("marriage-problem"));
    $("marriage-code").textContent = view.tracking_code || "—";
    $("marriage-state").replaceChildren(h("span", { className: "badge state-" + view.state }, label("caseState", view.state)));
    const place = PLACES[view.registration_place] || [view.registration_place, view.registration_place];
    $("marriage-place").replaceChildren(locality(view.registration_division), h("span", { className: "muted" }, " · ", bi(place[0], place[1])));
    $("marriage-identity").replaceChildren(
      view.identity_check === "window" ? bi("窗口人员已当面核验", "checked at the window") : bi("网上申请：登记时当面核验", "online: checked in person at registration"),
    );
    $("marriage-next").replaceChildren(marriageNext(view.next));
    $("marriage-services").replaceChildren(
      ...(view.services || []).map((service) => {
        const facts = h(
          "dl",
          { className: "facts" },
          detail(bi("办理地", "Handling"), locality(service.handling_locality)),
          detail(bi("收件地", "Receiving"), locality(service.receiving_locality)),
          detail(bi("办理方式", "Mode"), service.manual_routing ? bi("待人工分派", "manual routing needed") : label("mode", service.mode)),
          detail(service.state === "dispatched" ? bi("收件时限", "To accept by") : bi("办结时限", "Due"), service.due || bi("收件后计算", "set on receipt")),
        );
        for (const [field, value] of Object.entries(service.result || {})) {
          facts.append(h("div", { className: "wide result" }, h("dt", {}, resultName(field)), h("dd", {}, h("code", {}, String(value)))));
        }
        if (service.next) facts.append(h("div", { className: "wide" }, h("dt", {}, bi("下一步", "Next")), h("dd", {}, marriageWho(service.next.who), " · ", marriageAction(service.next.action))));
        return h(
          "li",
          { className: "service state-" + service.state },
          h("div", { className: "service-head" }, h("h4", {}, serviceName(service.service)), h("span", { className: "badge state-" + service.state }, label("state", service.state))),
          facts,
        );
      }),
    );
    $("marriage-parties").replaceChildren(
      ...Object.entries(view.parties || {}).map(([who, p]) =>
        h("li", {}, bi(who === "party_a" ? "甲方" : "乙方", who === "party_a" ? "Party A" : "Party B"), "：" + p.name + " · " + p.citizen_id + " · ", bi("户籍地", "hukou"), " ", locality(p.hukou_division)),
      ),
    );
    $("marriage-bring").replaceChildren(
      ...(view.bring || []).map((m) => h("li", {}, m.name_zh, " ", h("span", { lang: "en" }, m.name))),
    );
    renderMarriageClosing(view);
    $("marriage-status").textContent = "更新于 Updated " + dateTime(new Date().toISOString());
  }

  /** After a refusal the applicants may end the case (POST /cases/{id}/close), once nothing
      else can proceed; the server says so when something still can. */
  function renderMarriageClosing(view) {
    const holder = $("marriage-closing");
    holder.replaceChildren();
    const refused = view.state !== "closed" && (view.services || []).some((s) => s.state === "rejected");
    if (!refused) return;
    const button = h("button", { type: "button", id: "marriage-close" }, bi("终止办件", "Close the case"));
    button.addEventListener("click", async () => {
      hideProblem($("marriage-problem"));
      try {
        renderMarriage(await api("POST", "/cases/" + encodeURIComponent(session.case_id) + "/close", session.token, {}));
        $("marriage-status").textContent = "办件已终止 Case closed";
      } catch (error) {
        showProblem($("marriage-problem"), error);
      }
    });
    holder.append(h("p", {}, bi("有事项不予办理：可终止办件。", "A service was refused: you may close the case.")), h("div", { className: "actions" }, button));
  }

  /** "apply: name and household" → {verb: "apply", what: "name and household"} */
  function parseNext(text) {
    const at = (text || "").indexOf(":");
    return at < 0 ? { verb: text || "", what: "" } : { verb: text.slice(0, at), what: text.slice(at + 1).trim() };
  }

  function nextAction(view) {
    const next = parseNext(view.next_action);
    const node = h("span");
    if (next.verb === "apply") node.append(bi("请填写下方申请", "Complete the application below"));
    else if (next.verb === "supplement") node.append(bi("请补充材料：" + next.what, "Supply: " + next.what));
    else if (next.verb === "resubmit" || next.verb === "resubmit or close") {
      node.append(bi("有事项不予办理：可更正后重新申请" + (next.verb === "resubmit" ? "" : "或终止办件"), next.what));
    } else if (next.verb === "rate" && view.state === "closed") node.append(bi("办件已终止，请评价", "The case was closed: please rate the service"));
    else if (next.verb === "rate") node.append(bi("全部办结，请评价", "All done: please rate the service"));
    else if (view.state === "closed") node.append(bi("办件已终止，感谢评价", "The case was closed, thank you for rating"));
    else if (view.state === "completed") node.append(bi("全部办结，感谢评价", "All done, thank you for rating"));
    else if (view.state === "voided") node.append(bi("出生信息已作废", "The notification was voided"));
    else node.append(waiting(next.what));
    return node;
  }

  /** "waiting for office cdc 430602, office public-security 430602" and the like, in words. */
  function waiting(what) {
    const node = h("span");
    const offices = Array.from(what.matchAll(/office ([a-z-]+) (\d{6})/g));
    if (offices.length) {
      node.append(bi("无需操作，等待部门办理：", "Nothing to do; waiting for:"));
      const list = h("ul", { className: "waiting" });
      for (const [, authority, code] of offices) list.append(h("li", {}, authorityName(authority), " · ", locality(code)));
      node.append(list);
      return node;
    }
    const services = (text) => text.split(", ").flatMap((code, i) => (i ? ["、", serviceName(code)] : [serviceName(code)]));
    const manual = /^waiting for manual routing of (.+)$/.exec(what);
    const rejected = /^rejected: (.+)$/.exec(what);
    if (manual) node.append(bi("等待人工分派：", "Waiting for manual routing:"), " ", ...services(manual[1]));
    else if (rejected) node.append(bi("以下服务不予办理：", "Rejected:"), " ", ...services(rejected[1]));
    else if (what === "waiting for the plan") node.append(bi("等待规划各项服务", "Waiting for the services to be planned"));
    else node.append(bi("无需操作", "Nothing to do"), " ", h("span", { className: "muted", lang: "en" }, what));
    return node;
  }

  function render(view) {
    current = view;
    $("login").hidden = true;
    $("case").hidden = false;
    hideProblem($("case-problem"));
    $("case-code").textContent = view.tracking_code || "—";
    $("case-state").replaceChildren(h("span", { className: "badge state-" + view.state }, label("caseState", view.state)));
    $("next-action").replaceChildren(nextAction(view));
    renderWaiting(view.waiting_on || []);
    const handling = view.handling;
    $("case-handling").textContent = handling
      ? handling.note + " · " + handling.places.map((p) => p.locality + " ×" + p.requests).join(", ")
      : "—";
    const verb = parseNext(view.next_action).verb;
    $("apply").hidden = verb !== "apply";
    $("rate").hidden = verb !== "rate";
    renderSupplements(view.services || []);
    renderServices(view.services || []);
    renderDelivery(view.delivery);
    renderClosing(view, verb);
    renderTimeline(view.timeline || []);
    renderViewedBy(view.viewed_by || []);
    renderMaterials(view.materials);
    $("case-status").textContent = "更新于 Updated " + dateTime(new Date().toISOString());
  }

  /** Who acts next on each open request, what it must do and by when (the case view's
   * waiting_on); the requests waiting behind it are named with it. */
  function renderWaiting(entries) {
    const node = $("case-waiting");
    if (!entries.length) {
      node.replaceChildren(bi("无：办件已结束", "Nobody: the case is over"));
      return;
    }
    const parties = { family: ["您（家庭）", "you, the family"], "routing-desk": ["跨省通办调度台", "the routing desk"], office: ["办理部门", "the office"] };
    const list = h("ul", { className: "waiting" });
    for (const w of entries) {
      const [zh, en] = parties[w.party] || [w.party, w.party];
      const what = w.service ? serviceName(w.service) : bi("本案", "the case");
      const due = w.due ? h("span", {}, " · ", bi("截止", "by"), " " + w.due + (w.due_provisional ? "（暂定 provisional）" : "")) : "";
      const names = (w.behind || []).flatMap((c, i) => (i ? ["、", serviceName(c)] : [serviceName(c)]));
      const behind = names.length ? h("span", { className: "muted" }, " · ", bi("其后", "then"), " ", ...names) : "";
      list.append(h("li", {}, bi(zh, en), w.party === "family" ? "" : " " + w.who, " · ", w.action, " · ", what, due, behind));
    }
    node.replaceChildren(list);
  }

  function detail(term, value) {
    return h("div", {}, h("dt", {}, term), h("dd", {}, value));
  }

  /** Twins (or more) born in one delivery: the other children's cases, linked. */
  function renderDelivery(delivery) {
    const node = $("delivery");
    node.hidden = !delivery;
    if (!delivery) return;
    const others = (delivery.siblings || []).map((s) => s.case_id.slice(0, 8)).join(", ");
    node.replaceChildren(bi("同胎出生（" + (delivery.multiple_birth || "") + "）", "Same delivery"), ": ", others || "—");
  }

  function renderServices(services) {
    $("no-services").hidden = services.length > 0;
    const list = $("services");
    list.replaceChildren();
    for (const service of services) {
      const facts = h("dl", { className: "facts" });
      facts.append(
        detail(bi("办理地", "Handling"), locality(service.handling_locality)),
        detail(bi("收件地", "Receiving"), locality(service.receiving_locality)),
        detail(bi("办理方式", "Mode"), service.manual_routing ? bi("待人工分派", "manual routing needed") : label("mode", service.mode)),
        detail(
          service.state === "dispatched" ? bi("收件时限", "To accept by") : bi("办结时限", "Due"),
          service.due
            ? [service.due, service.due_provisional ? " (" + "暂定 provisional: 节假日安排未公布 holidays not yet published" + ")" : ""].join("")
            : bi("收件后计算", "set on receipt"),
        ),
      );
      const result = service.result || {};
      for (const [field, value] of Object.entries(result)) {
        if (typeof value === "string" || typeof value === "number") {
          facts.append(h("div", { className: "wide result" }, h("dt", {}, resultName(field)), h("dd", {}, h("code", {}, String(value)))));
        }
      }
      if ((service.awaiting || []).length) {
        facts.append(h("div", { className: "wide" }, h("dt", {}, bi("待补材料", "Awaiting")), h("dd", {}, service.awaiting.join("、"))));
      }
      if (service.blocked_by) {
        facts.append(h("div", { className: "wide" }, h("dt", {}, bi("暂停原因", "Blocked by")), h("dd", {}, serviceName(service.blocked_by.service), bi(" 不予办理", " was rejected"))));
      }
      if (service.rejection) facts.append(...rejectionFacts(service));
      facts.append(...guideFacts(guides.get(service.service_request_id)));
      list.append(
        h(
          "li",
          { className: "service state-" + service.state },
          h("div", { className: "service-head" }, h("h4", {}, serviceName(service.service)), h("span", { className: "badge state-" + service.state }, label("state", service.state))),
          facts,
        ),
      );
    }
  }

  /** The case's e-certificates (GET /cases/{id}/certificates), once a result is decided. */
  async function loadCertificates(view) {
    const section = $("certificates-section");
    const problem = $("certificates-problem");
    hideProblem(problem);
    if (!(view.services || []).some((s) => DECIDED.includes(s.state))) {
      section.hidden = true;
      return;
    }
    try {
      const found = await api("GET", "/cases/" + encodeURIComponent(session.case_id) + "/certificates", session.token);
      await renderCertificates(found.certificates || []);
      section.hidden = false;
    } catch (error) {
      section.hidden = false;
      showProblem(problem, error);
    }
  }

  /** A certificate's QR code as a blob: URL for an <img>: the SVG is fetched with the family's
      token (an <img src> could not send it); kept while the certificate stays the same. */
  async function qrUrl(entry) {
    const known = qrCodes.get(entry.jti);
    if (known && known.certificate === entry.certificate) return known.url;
    const path = "/cases/" + encodeURIComponent(session.case_id) + "/certificates/" + encodeURIComponent(entry.jti) + "/qr.svg";
    let response;
    try {
      response = await fetch(path, { headers: { Authorization: "Bearer " + session.token, Accept: "image/svg+xml" }, credentials: "omit", cache: "no-store" });
    } catch (error) {
      throw new window.NL.Problem(0, { title: "网络错误 Network error", detail: String(error.message || error) });
    }
    if (!response.ok) throw new window.NL.Problem(response.status, await response.json().catch(() => null));
    const url = URL.createObjectURL(await response.blob());
    if (known) URL.revokeObjectURL(known.url);
    qrCodes.set(entry.jti, { certificate: entry.certificate, url });
    return url;
  }

  function forgetQrCodes() {
    for (const known of qrCodes.values()) URL.revokeObjectURL(known.url);
    qrCodes = new Map();
  }

  /** One card per certificate: what it states, its status, its QR code, a link to verify it;
      in print (style.css) one valid certificate per A4 page. */
  async function renderCertificates(entries) {
    const list = $("certificates");
    const urls = await Promise.all(entries.map((entry) => qrUrl(entry)));
    list.replaceChildren();
    entries.forEach((entry, i) => {
      const claims = entry.claims || {};
      const result = claims.result || {};
      const subject = claims.subject || {};
      const facts = h(
        "dl",
        { className: "facts" },
        detail(resultName(result.field), h("code", {}, String(result.value == null ? "—" : result.value))),
        detail(bi("新生儿姓名", "Child's name"), subject.name || bi("未登记", "not yet named")),
        detail(bi("出生日期", "Birth date"), subject.birth_date || "—"),
        detail(bi("签发机关", "Signed by"), issuerName(entry.issuer)),
        detail(bi("签发地", "Issued in"), locality(claims.locality)),
        detail(bi("签发时间", "Issued at"), entry.issued_at ? dateTime(entry.issued_at) : claims.iat ? dateTime(new Date(claims.iat * 1000).toISOString()) : "—"),
        h("div", { className: "wide" }, h("dt", {}, bi("证照编号", "Certificate id")), h("dd", {}, h("code", {}, entry.jti))),
      );
      if (entry.superseded_by) facts.append(h("div", { className: "wide" }, h("dt", {}, bi("取代它的证照", "Superseded by")), h("dd", {}, h("code", {}, entry.superseded_by))));
      if (entry.revocation_requested_at) facts.append(h("div", { className: "wide" }, h("dt", {}, bi("出生信息作废，签发部门撤销中，自", "Voided: its office is revoking it, since")), h("dd", {}, dateTime(entry.revocation_requested_at))));
      if (entry.revoked_at) facts.append(h("div", { className: "wide" }, h("dt", {}, bi("撤销时间", "Revoked at")), h("dd", {}, dateTime(entry.revoked_at))));
      const heading = h("h4", {}, label("certificateType", entry.certificate_type));
      const qr = h(
        "figure",
        { className: "qr" },
        h("img", { src: urls[i], alt: "二维码：" + entry.jti + " QR code", width: 320, height: 320, dataset: { jti: entry.jti } }),
        h("figcaption", {}, bi("扫码核验", "Scan to verify"), h("span", { className: "print-only" }, " · " + window.location.origin + "/verify")),
      );
      const verify = h("a", { href: "/verify#" + entry.certificate, target: "_blank", rel: "noopener noreferrer", className: "verify-link screen-only" }, bi("核验此证照", "Verify this certificate"));
      list.append(
        h(
          "li",
          { className: "certificate cert-" + entry.status + (entry.status === "valid" ? "" : " not-current"), dataset: { jti: entry.jti } },
          h("div", { className: "service-head" }, heading, h("span", { className: "badge cert-" + entry.status }, label("certificateStatus", entry.status))),
          h("p", { className: "print-only print-title" }, "出生一件事 · 电子证照 ", h("span", { lang: "en" }, 'Newborn "one thing" e-certificate')),
          h("div", { className: "certificate-body" }, facts, qr),
          verify,
        ),
      );
    });
  }

  const SATISFIED = {
    shared: ["共享数据，免交", "shared data: not brought"],
    certificate: ["电子证照，免交", "e-certificate: not brought"],
    application: ["已在申请中填写", "answered in the application"],
    document: ["由家庭提供", "the family brings it"],
  };

  /** The case's materials: which sharing spared the family, which the family supplies. */
  function renderMaterials(materials) {
    const section = $("materials-section");
    const services = (materials && materials.services) || [];
    section.hidden = services.length === 0;
    if (!services.length) return;
    const c = materials.counts;
    $("materials-summary").replaceChildren(
      bi(
        "共需 " + c.required + " 项材料：" + c.by_sharing + " 项通过数据共享免交（共享数据 " + c.shared + " 项、电子证照 " + c.certificate + " 项），" + c.by_family + " 项由家庭提供（其中 " + c.in_application + " 项已在申请中填写" + (c.on_notice ? "，" + c.on_notice + " 项按一次性告知补交" : "") + "）。",
        c.required + " materials: " + c.by_sharing + " spared by sharing (" + c.shared + " shared data, " + c.certificate + " e-certificates), " + c.by_family + " from the family (" + c.in_application + " answered in the application" + (c.on_notice ? ", " + c.on_notice + " supplied on a one-time notice" : "") + ").",
      ),
    );
    const groups = services.map((service) => {
      const items = (service.required || []).map((m) => {
        const from = m.from || {};
        const how = m.satisfied_by === "family" ? (from.application ? "application" : "document") : m.satisfied_by;
        const [zh, en] = SATISFIED[how] || [m.satisfied_by, m.satisfied_by];
        const source = how === "certificate" && from.service ? h("span", { className: "muted" }, " · ", serviceName(from.service)) : "";
        const when = m.when === "cross-province" ? h("span", { className: "muted" }, " · ", bi("跨省办理时", "cross-province only")) : "";
        return h("li", { className: "material by-" + how }, h("span", {}, m.name_zh, " ", h("span", { lang: "en" }, m.name)), " ", h("span", { className: "badge material-" + how }, bi(zh, en)), source, when);
      });
      const n = service.counts || {};
      return h(
        "div",
        { className: "materials-service" },
        h("h4", {}, serviceName(service.service)),
        h("p", { className: "muted" }, bi("共享免交 " + n.by_sharing + " / 家庭提供 " + n.by_family, n.by_sharing + " by sharing / " + n.by_family + " by the family")),
        h("ul", { className: "materials" }, items),
      );
    });
    $("materials").replaceChildren(...groups);
  }

  /** Why a request was rejected, on what basis, by when the family acts and what it can do. */
  function rejectionFacts(service) {
    const r = service.rejection;
    const shown = [detail(bi("不予办理理由", "Reason"), r.reason), detail(bi("法律依据", "Legal basis"), r.basis)];
    if (service.resubmitted_as) {
      shown.push(detail(bi("后续", "Then"), bi("已重新申请", "resubmitted")));
      return shown;
    }
    if (r.due) shown.push(detail(bi("请于此日前处理", "Act by"), r.due));
    const remedies = h("ul", { className: "remedies" });
    for (const remedy of r.remedies || []) {
      remedies.append(h("li", {}, remedy.name_zh + " " + remedy.name + (remedy.period ? "（" + remedy.period + "）" : "") + "：" + remedy.how + " — " + remedy.basis));
    }
    shown.push(h("div", { className: "wide" }, h("dt", {}, bi("您可以", "What you can do")), h("dd", {}, remedies)));
    if (current && current.state !== "closed") {
      const button = h("button", { type: "button" }, bi("更正后重新申请", "Resubmit"));
      button.addEventListener("click", async () => {
        try {
          await api("POST", "/service-requests/" + service.service_request_id + "/resubmit", session.token, {});
          await load();
          $("case-status").textContent = "已重新申请 Resubmitted";
        } catch (error) {
          showProblem($("case-problem"), error);
        }
      });
      shown.push(h("div", { className: "wide actions" }, button));
    }
    return shown;
  }

  /** A closed case's summary, or the button that closes a case nothing else can move. */
  function renderClosing(view, verb) {
    const holder = $("closing");
    if (!holder) return;
    holder.replaceChildren();
    if (view.summary) {
      const s = view.summary;
      const names = (codes) => h("span", {}, ...(codes.length ? codes.flatMap((c, i) => (i ? ["、", serviceName(c)] : [serviceName(c)])) : ["—"]));
      holder.append(
        h("h3", {}, bi("办件小结", "Summary")),
        h("dl", { className: "facts" },
          detail(bi("已办结", "Issued"), names(s.issued)),
          detail(bi("不予办理", "Rejected"), h("span", {}, ...(s.rejected.length ? s.rejected.map((r) => h("div", {}, serviceName(r.service), "：", r.reason, "（", r.basis, "）")) : ["—"]))),
          detail(bi("未办理", "Not proceeded"), names(s.not_proceeded))),
      );
    } else if (verb === "resubmit or close") {
      const button = h("button", { type: "button" }, bi("终止办件", "Close the case"));
      button.addEventListener("click", async () => {
        try {
          await api("POST", "/cases/" + session.case_id + "/close", session.token, {});
          await load();
          $("case-status").textContent = "办件已终止 Case closed";
        } catch (error) {
          showProblem($("case-problem"), error);
        }
      });
      holder.append(h("div", { className: "actions" }, button));
    }
  }

  function renderTimeline(entries) {
    const list = $("timeline");
    list.replaceChildren();
    for (const entry of entries.slice().reverse()) {
      list.append(
        h(
          "li",
          {},
          h("time", { dateTime: entry.at }, dateTime(entry.at)),
          h("span", { className: "what" }, entry.service ? h("span", { className: "svc" }, serviceName(entry.service)) : null, label("event", entry.event)),
        ),
      );
    }
  }

  /** The offices that read the case (the read audit): each with how often and when last. */
  function renderViewedBy(viewers) {
    const list = $("viewed-by");
    if (!viewers.length) {
      list.replaceChildren(h("li", {}, bi("尚无部门查阅", "No office has read it yet")));
      return;
    }
    list.replaceChildren(
      ...viewers.map((v) =>
        h(
          "li",
          { className: "viewer" },
          authorityName(v.authority),
          " · ",
          locality(v.locality),
          v.kind === "system" ? h("span", { className: "muted" }, " ", bi("（业务系统）", "(its system)")) : null,
          " · ",
          bi(v.reads + " 次，最近 ", v.reads + " reads, last "),
          h("time", { dateTime: v.last_at }, dateTime(v.last_at)),
        ),
      ),
    );
  }

  /** Upload one file for the case: its evidence reference, or a Problem naming why not
   * (the server checks the type by content, the size and decompression bombs). */
  async function upload(file) {
    const form = new FormData();
    form.append("file", file, file.name);
    let response;
    try {
      response = await fetch("/cases/" + encodeURIComponent(session.case_id) + "/documents", {
        method: "POST",
        headers: { Accept: "application/json, application/problem+json", Authorization: "Bearer " + session.token },
        body: form,
        credentials: "omit",
        cache: "no-store",
      });
    } catch (error) {
      throw new window.NL.Problem(0, { title: "网络错误 Network error", detail: String(error.message || error) });
    }
    let data = null;
    try {
      data = await response.json();
    } catch (error) {
      data = { title: "HTTP " + response.status, detail: "" };
    }
    if (!response.ok) {
      const why = UPLOAD_PROBLEMS[String((data && data.type) || "").replace("/problems/", "")];
      const title = (why ? why + " " : "") + ((data && data.title) || "HTTP " + response.status);
      const named = Object.assign({}, data, { title, detail: file.name + ": " + ((data && data.detail) || "") });
      throw new window.NL.Problem(response.status, named);
    }
    return data;
  }

  function renderSupplements(services) {
    const waiting = services.filter((s) => s.state === "supplement-requested" && (s.awaiting || []).length);
    $("supplement").hidden = waiting.length === 0;
    const holder = $("supplement-forms");
    holder.replaceChildren();
    for (const service of waiting) {
      const id = service.service_request_id;
      const form = h("form", { className: "form", method: "post", noValidate: true });
      form.append(h("h4", {}, serviceName(service.service)));
      service.awaiting.forEach((item, index) => {
        const inputId = "supplement-" + id + "-" + index;
        form.append(h("div", { className: "field" }, h("label", { for: inputId }, item), h("textarea", { id: inputId, name: "item", required: true, rows: 2, dataset: { item } })));
      });
      const fileId = "supplement-" + id + "-files";
      const files = h("input", { id: fileId, type: "file", name: "files", multiple: true, accept: ACCEPT });
      form.append(
        h(
          "div",
          { className: "field" },
          h("label", { for: fileId }, bi("上传材料（可选）", "Attach files (optional)")),
          files,
          h("p", { className: "hint" }, bi("PDF、JPEG 或 PNG，按文件内容识别", "PDF, JPEG or PNG, checked by their content")),
        ),
      );
      const problem = h("p", { className: "problem", role: "alert", hidden: true });
      form.append(h("div", { className: "actions" }, h("button", { type: "submit" }, bi("提交补正", "Send supplement"))), problem);
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        hideProblem(problem);
        const answers = Array.from(form.querySelectorAll("textarea"), (area) => [area.dataset.item, area.value.trim()]);
        if (answers.some(([, answer]) => !answer)) {
          showProblem(problem, new window.NL.Problem(422, { title: "请逐项填写 Answer every item", detail: "" }));
          return;
        }
        busy(form, true);
        try {
          const evidence = [];
          for (const file of Array.from(files.files || [])) evidence.push(await upload(file));
          const body = { items: answers.map(([item, answer]) => item + ": " + answer) };
          if (evidence.length) body.evidence = evidence;
          await api("POST", "/service-requests/" + id + "/supplement", session.token, body);
          await load();
          $("case-status").textContent = "补正已提交 Supplement sent";
        } catch (error) {
          showProblem(problem, error);
        } finally {
          busy(form, false);
        }
      });
      holder.append(form);
    }
  }

  /** Done, ended and open services, as a bar and in words. */
  function renderProgress(progress) {
    const shown = Boolean(progress && progress.total);
    $("progress").hidden = !shown;
    if (!shown) return;
    $("progress-fill").style.width = progress.percent + "%";
    $("progress-meter").setAttribute("aria-valuenow", String(progress.percent));
    $("progress-text").replaceChildren(
      bi("已办结 " + progress.done + " 项，共 " + progress.total + " 项", progress.done + " of " + progress.total + " done"),
      progress.ended ? h("span", {}, " · ", bi("不予办理或撤回 " + progress.ended + " 项", progress.ended + " ended without a result")) : "",
      " · ",
      bi("办理中 " + progress.open + " 项", progress.open + " in progress"),
      " · " + progress.percent + "%",
    );
  }

  /** Why the service waits (on which other result) and where and how to collect its result. */
  function guideFacts(guide) {
    if (!guide) return [];
    const shown = [];
    if (guide.waits_on.length) {
      const list = h("ul", {}, ...guide.waits_on.map((w) => h("li", {}, bi(w.why[0], w.why[1]))));
      shown.push(h("div", { className: "wide waits" }, h("dt", {}, bi("为何等待", "Why it waits")), h("dd", {}, list)));
    }
    const c = guide.collect;
    if (c) {
      const parts = [h("div", {}, bi(guide.ready ? "可领取：" : "办结后领取：", guide.ready ? "Ready to collect:" : "When done, collect:"), " ", bi(c.result[0], c.result[1]))];
      parts.push(h("div", {}, bi(c.office[0], c.office[1])), h("div", { className: "muted" }, bi(c.how[0], c.how[1])));
      if (c.bring.length) parts.push(h("div", {}, bi("请携带：", "Bring:"), h("ul", {}, ...c.bring.map(([zh, en]) => h("li", {}, bi(zh, en))))));
      shown.push(h("div", { className: "wide collect" }, h("dt", {}, bi("领取地点和方式", "Where and how to collect")), h("dd", {}, ...parts)));
    }
    return shown;
  }

  /** The division picker: province → city → county from /divisions (reference data, names
   * as of today); choosing a county fills the code field, which still takes a typed code. */
  const levels = new Map();
  function level(parent) {
    const key = parent || "";
    if (!levels.has(key)) {
      const query = parent ? "?parent=" + encodeURIComponent(parent) : "";
      levels.set(key, api("GET", "/divisions" + query, null).catch((error) => {
        levels.delete(key);
        throw error;
      }));
    }
    return levels.get(key);
  }

  function picker(holder, input) {
    const names = [["province", "省", "Province"], ["city", "市", "City"], ["county", "区县", "County"]];
    const selects = names.map(([part, zh, en]) => {
      const select = h("select", { id: input.id + "-" + part, dataset: { part } });
      holder.append(h("label", { for: select.id }, bi(zh, en), select));
      return select;
    });
    const fill = async (select, parent) => {
      const placeholder = h("option", { value: "" }, "请选择 Choose");
      select.replaceChildren(placeholder);
      select.disabled = parent === undefined;
      if (parent === undefined) return;
      const answer = await level(parent);
      for (const d of answer.divisions) select.append(h("option", { value: d.code }, d.name));
    };
    const [province, city, county] = selects;
    province.addEventListener("change", () => Promise.all([fill(city, province.value ? province.value.slice(0, 2) : undefined), fill(county, undefined)]));
    city.addEventListener("change", () => fill(county, city.value ? city.value.slice(0, 4) : undefined));
    county.addEventListener("change", () => {
      input.value = county.value;
      input.dispatchEvent(new Event("input"));
    });
    fill(province, null).catch((error) => showProblem($("apply-problem"), error));
    fill(city, undefined);
    fill(county, undefined);
  }

  /** Every problem of the application at once: each field marked, with its own message. */
  function clearFieldProblems(form) {
    for (const node of form.querySelectorAll(".field-error")) node.remove();
    for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
    for (const node of form.querySelectorAll(".field.invalid")) node.classList.remove("invalid");
  }

  function markFieldProblems(form, errors) {
    let first = null;
    for (const error of errors) {
      const name = (error.pointer || "").replace(/^\//, "").split("/")[0];
      const controls = Array.from(form.querySelectorAll("[name='" + CSS.escape(name) + "']"));
      if (!controls.length) continue;
      const holder = controls[0].closest(".field");
      const id = "error-" + name;
      let message = document.getElementById(id);
      if (!message) {
        message = h("p", { className: "field-error", id });
        holder.append(message);
      } else message.append(" ");
      message.append(bi(error.detail, error.detail_en || ""));
      holder.classList.add("invalid");
      for (const control of controls) {
        control.setAttribute("aria-invalid", "true");
        const described = (control.getAttribute("aria-describedby") || "").split(" ").filter((x) => x && x !== id);
        control.setAttribute("aria-describedby", [...described, id].join(" "));
      }
      const pick = holder.querySelector("select:not([disabled])");
      const target = name.endsWith("_division") && pick && !controls[0].value ? pick : controls[0];
      // the first problem in the form's order, whatever the order of the answer's list
      if (!first || first.compareDocumentPosition(target) & Node.DOCUMENT_POSITION_PRECEDING) first = target;
    }
    return first;
  }

  function showFormProblems(form, error) {
    const errors = (error.body && error.body.errors) || [];
    const problem = $("apply-problem");
    showProblem(problem, error);
    if (!errors.length) return;
    problem.replaceChildren(
      h("strong", {}, bi("共 " + errors.length + " 处需要更正", errors.length + " fields to correct")),
      h("ul", {}, ...errors.map((e) => h("li", {}, bi(e.detail, e.detail_en || "")))),
    );
    const first = markFieldProblems(form, errors);
    if (first) first.focus();
  }

  async function apply(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const problem = $("apply-problem");
    hideProblem(problem);
    const household = form.querySelector("input[name=household]:checked");
    const body = {
      child_name: $("child-name").value.trim(),
      household: household ? household.value : "",
      residence_division: $("residence-division").value.trim(),
      consent: $("consent").checked,
    };
    const insured = $("insured-division").value.trim();
    if (insured) body.insured_division = insured;
    clearFieldProblems(form);
    busy(form, true);
    try {
      await api("POST", "/cases/" + session.case_id + "/family-application", session.token, body);
      form.reset();
      await load();
      $("case-status").textContent = "申请已提交 Application sent";
      $("services-heading").scrollIntoView({ block: "start" });
    } catch (error) {
      showFormProblems(form, error);
    } finally {
      busy(form, false);
    }
  }

  async function rate(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const problem = $("rate-problem");
    hideProblem(problem);
    const score = form.querySelector("input[name=score]:checked");
    if (!score) {
      showProblem(problem, new window.NL.Problem(422, { title: "请选择评分 Choose a score", detail: "1–5" }));
      return;
    }
    busy(form, true);
    try {
      await api("POST", "/cases/" + session.case_id + "/rating", session.token, { score: Number(score.value), comment: $("rate-comment").value.trim() });
      form.reset();
      await load();
      $("case-status").textContent = "感谢您的评价 Thank you for rating";
    } catch (error) {
      showProblem(problem, error);
    } finally {
      busy(form, false);
    }
  }

  $("login-form").addEventListener("submit", login);
  $("apply-form").addEventListener("submit", apply);
  $("rate-form").addEventListener("submit", rate);
  $("refresh").addEventListener("click", () => load());
  $("print-certificates").addEventListener("click", () => window.print());
  $("sign-out").addEventListener("click", signOut);
  $("marriage-refresh").addEventListener("click", () => load());
  $("idcard-refresh").addEventListener("click", () => load());
  $("idcard-sign-out").addEventListener("click", signOut);
  $("marriage-sign-out").addEventListener("click", signOut);
  for (const holder of document.querySelectorAll(".picker")) picker(holder, $(holder.dataset.for));
  window.NL.describeLocality($("residence-division"), $("residence-name"));
  window.NL.describeLocality($("insured-division"), $("insured-name"));

  session = saved();
  if (session) load();
  else showLogin();
})();
