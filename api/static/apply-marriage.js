/* The marriage application (/apply/marriage): the couple apply online, or a window clerk of a
   civil-affairs office signed in by session applies for them (the identity check is then
   recorded as "window" with the clerk). The form is checked before sending: every problem at
   once beside its field and in the alert, the first field focused (workbench-forms.js); the
   server's 422 (errors[] with JSON pointers) is marked the same way. Text only, never markup. */
"use strict";

(function () {
  const { h, api, bi, showProblem, hideProblem, locality, busy, session } = window.NL;
  const { citizenIdProblem, clear, show } = window.NLForms;
  const $ = (id) => document.getElementById(id);
  const form = $("apply-form");
  const alert = $("apply-problem");
  const DIVISION = /^[1-8]\d{5}$/;
  const PHONE = /^\+?[0-9][0-9 -]{5,18}[0-9]$/; // as the server's rule
  const PARTIES = { a: ["甲方", "party A"], b: ["乙方", "party B"] };
  let clerk = null; // the signed-in civil-affairs clerk, or null: an online application

  /** The mode the page applies in: the session's clerk of civil affairs, or online. */
  async function showMode() {
    let signed = null;
    try {
      signed = await session();
    } catch (error) {
      signed = null; // no session service: online
    }
    const name = $("mode-name");
    const detail = $("mode-detail");
    if (signed && signed.role === "office" && signed.authority === "civil-affairs") {
      clerk = signed;
      $("mode").classList.add("window");
      name.replaceChildren(bi("窗口代办：身份已由窗口人员当面核验", "At the window: the clerk checked both parties' ID in person"));
      detail.replaceChildren(" ", bi("办理人 " + signed.user + "，登记机关 ", "clerk " + signed.user + ", registration office "), locality(signed.scope), " · ", bi("登记地须为本登记机关所在区县", "the registration place must be this office's county"));
    } else if (signed) {
      name.replaceChildren(bi("当前登录账号不能代为申请", "The account signed in does not apply for others"));
      detail.replaceChildren(" ", bi("只有民政部门婚姻登记窗口人员可代为申请；请退出登录后由申请人本人网上申请。", "Only a civil-affairs registry clerk applies for a couple; sign out to apply online as the couple."));
    } else {
      name.replaceChildren(bi("网上申请：身份将在登记时当面核验", "Online: your ID is checked in person when you register"));
      detail.replaceChildren(" · ", h("a", { href: "/sign-in" }, bi("窗口人员请先登录，再代为申请", "Window clerks: sign in first to apply for a couple")));
    }
  }

  function value(id) {
    return $(id).value.trim();
  }

  function checked(name) {
    const found = form.querySelector("input[name='" + name + "']:checked");
    return found ? found.value : "";
  }

  /** The first control of a field, by its API name (party_a.name) or pointer (/party_a/name). */
  function control(where) {
    const dotted = String(where || "").replace(/^\//, "").replace(/\//g, ".");
    const exact = form.querySelector("[data-field='" + CSS.escape(dotted) + "']");
    if (exact) return exact;
    const party = /^party_([ab])$/.exec(dotted); // the whole party refused: its first field
    return party ? $(party[1] + "-name") : null;
  }

  /** Every problem the form has before it is sent, in the form's order. */
  function problems() {
    const found = [];
    const add = (id, zh, en) => found.push({ input: $(id), zh, en });
    for (const who of ["a", "b"]) {
      const [zh, en] = PARTIES[who];
      const name = value(who + "-name");
      if (!name) add(who + "-name", "请填写" + zh + "姓名", "Enter " + en + "'s name");
      else if (name.length > 50) add(who + "-name", "姓名不超过 50 个字", "A name has at most 50 characters");
      const id = value(who + "-citizen-id").toUpperCase();
      if (!id) add(who + "-citizen-id", "请填写" + zh + "公民身份号码", "Enter " + en + "'s citizen ID number");
      else {
        const wrong = citizenIdProblem(id);
        if (wrong) add(who + "-citizen-id", zh + wrong[0], en + ": " + wrong[1]);
      }
      const phone = value(who + "-phone");
      if (phone && !PHONE.test(phone)) add(who + "-phone", "手机号为 7 至 20 位数字", "A phone number is 7 to 20 digits");
      for (const [part, pzh, pen] of [["hukou", "户籍地", "hukou place"], ["residence", "经常居住地", "residence"]]) {
        if (!DIVISION.test(value(who + "-" + part))) add(who + "-" + part, "请选择" + zh + pzh + "的区县", "Choose " + en + "'s " + pen + " county");
      }
    }
    const a = value("a-citizen-id").toUpperCase();
    if (a && a === value("b-citizen-id").toUpperCase()) add("b-citizen-id", "双方的公民身份号码相同", "The two parties have the same citizen ID");
    const place = checked("registration_place");
    if (!place) add("place-a", "请选择登记地", "Choose where to register");
    else if (place === "residence-permit" && !checked("permit_holder")) add("holder-a", "请选择持居住证的一方", "Choose whose residence permit it is");
    if (!$("consent").checked) add("consent", "请确认双方同意共享所需信息", "Both parties' consent is needed");
    return found;
  }

  /** The application as the API takes it (consent is asked on the page only). */
  function body() {
    const party = (who) => {
      const entry = {
        name: value(who + "-name"),
        citizen_id: value(who + "-citizen-id").toUpperCase(),
        hukou_division: value(who + "-hukou"),
        residence_division: value(who + "-residence"),
      };
      const phone = value(who + "-phone");
      if (phone) entry.phone = phone;
      return entry;
    };
    const answer = { party_a: party("a"), party_b: party("b"), registration_place: checked("registration_place") };
    if (answer.registration_place === "residence-permit") answer.permit_holder = checked("permit_holder");
    return answer;
  }

  /** A server problem: its errors[] marked on their fields as the page's own checks are (Chinese
      first, the English beside); one naming no field of the form shown as it is. */
  function showServer(error) {
    const body = (error && error.body) || {};
    // a clerk of another office than the registering one: the place chosen is the field
    const field = body.field || (/not-receiving-office$/.test(body.type || "") ? "registration_place" : "");
    const items = body.errors && body.errors.length ? body.errors : field ? [{ pointer: field, detail: body.detail, detail_en: body.detail_en }] : [];
    const marked = [];
    const unmarked = [];
    for (const item of items) {
      const input = control(item.pointer || item.field);
      if (input) marked.push({ input, zh: item.detail || error.title, en: item.detail_en || body.title_en || "" });
      else unmarked.push(item);
    }
    if (!marked.length) {
      clear(form);
      showProblem(alert, error);
      return;
    }
    const order = (x, y) => (x.input.compareDocumentPosition(y.input) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1);
    show(form, alert, marked.sort(order));
    alert.prepend(h("p", {}, h("strong", {}, error.title), body.title_en ? h("span", { lang: "en" }, " " + body.title_en) : ""));
    if (unmarked.length) alert.append(h("ul", {}, ...unmarked.map((e) => h("li", {}, bi(e.detail || "", e.detail_en || "")))));
  }

  function retryAfter(error) {
    const seconds = Number((error.body && error.body.retry_after) || 0);
    if (error.status !== 429 || !seconds) return;
    const minutes = Math.ceil(seconds / 60);
    alert.append(" ", bi("请约 " + minutes + " 分钟后再试。", "Try again in about " + minutes + " minutes."));
  }

  async function submit(event) {
    event.preventDefault();
    hideProblem(alert);
    const found = problems();
    if (found.length) {
      show(form, alert, found);
      return;
    }
    clear(form);
    busy(form, true);
    try {
      const opened = await api("POST", "/marriage-registrations", null, body());
      done(opened);
    } catch (error) {
      showServer(error);
      retryAfter(error);
    } finally {
      busy(form, false);
    }
  }

  /** The case is opened: the tracking code large, where to go, what to bring, where to follow. */
  function done(opened) {
    $("apply").hidden = true;
    $("done").hidden = false;
    $("done-code").textContent = opened.tracking_code;
    $("done-place").replaceChildren(locality(opened.registration_division));
    $("done-identity").replaceChildren(
      opened.identity_check === "window"
        ? bi("窗口人员已当面核验", "checked in person by the window clerk")
        : bi("登记时由登记机关当面核验，请双方本人到场", "checked in person when you register: both of you attend"),
    );
    $("done-bring").replaceChildren(
      ...(opened.bring || []).map((m) => h("li", {}, m.name_zh, " ", h("span", { lang: "en" }, m.name))),
    );
    form.reset();
    for (const input of form.querySelectorAll("input[data-field$='_division']")) input.dispatchEvent(new Event("input"));
    $("holder-field").hidden = true;
    $("done").focus();
  }

  function again() {
    $("done").hidden = true;
    $("apply").hidden = false;
    $("a-name").focus();
  }

  /** The division picker of /track (track.js): province → city → county from /divisions;
      choosing a county fills the code field, which still takes a typed code. */
  const levels = new Map();
  function level(parent) {
    const key = parent || "";
    if (!levels.has(key)) {
      const query = parent ? "?parent=" + encodeURIComponent(parent) : "";
      levels.set(
        key,
        api("GET", "/divisions" + query, null).catch((error) => {
          levels.delete(key);
          throw error;
        }),
      );
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
      select.replaceChildren(h("option", { value: "" }, "请选择 Choose"));
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
    fill(province, null).catch((error) => showProblem(alert, error));
    fill(city, undefined);
    fill(county, undefined);
  }

  form.addEventListener("submit", submit);
  form.addEventListener("change", (event) => {
    if (event.target.name === "registration_place") $("holder-field").hidden = event.target.value !== "residence-permit";
  });
  $("again").addEventListener("click", again);
  for (const holder of form.querySelectorAll(".picker")) picker(holder, $(holder.dataset.for));
  for (const who of ["a", "b"]) {
    window.NL.describeLocality($(who + "-hukou"), $(who + "-hukou-name"));
    window.NL.describeLocality($(who + "-residence"), $(who + "-residence-name"));
  }
  showMode();
})();
