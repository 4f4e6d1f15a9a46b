/* The monitor page: the figures of a province, a city or a county for a month (level picker),
   per matter (each wing's kind) and service, its bad ratings to call back, and the
   province-to-province flows (births', and per matter: receiving → handling province). */
"use strict";

(function () {
  const { h, api, bi, showProblem, showApiProblem, hideProblem, localityName, dateTime, busy, chinaMonth, authorityName } = window.NL;
  const { bars, gauge } = window.NLCharts;
  const $ = (id) => document.getElementById(id);
  const FIGURES = [
    ["received", "收件", "Received"],
    ["decided", "办结", "Decided"],
    ["approved", "准予", "Approved"],
    ["rejected", "不予办理", "Rejected"],
    ["completed", "全部办结案件", "Cases completed"],
    ["on_time_rate", "按时办结率", "On-time rate"],
    ["median_hours", "用时中位数（小时）", "Median hours"],
    ["p90_hours", "用时 P90（小时）", "P90 hours"],
    ["median_working_days", "用时中位数（工作日）", "Median working days"],
    ["p90_working_days", "用时 P90（工作日）", "P90 working days"],
    ["ratings", "评价数", "Ratings"],
    ["average_rating", "平均评分", "Average rating"],
    ["bad_ratings", "差评数", "Bad ratings"],
    ["materials.required", "所需材料", "Materials required"],
    ["materials.by_family", "群众提交材料", "Supplied by families"],
    ["materials.by_sharing", "共享免交材料", "Satisfied by sharing"],
    ["materials.sharing_rate", "共享免交率", "Sharing rate"],
    ["parked", "待人工分派（本地）", "Waiting at the routing desk (here)"],
    ["parked_in_province", "待人工分派（全省）", "Waiting at the routing desk (province)"],
    ["remote_window.booked", "远程虚拟窗口 预约", "Remote window sessions booked"],
    ["remote_window.held", "远程虚拟窗口 已办", "Remote window sessions held"],
    ["remote_window.cancelled", "远程虚拟窗口 取消", "Remote window sessions cancelled"],
  ];

  /** A figure's value by its key: "materials.required" reads figures.materials.required. */
  function valueOf(figures, key) {
    return key.split(".").reduce((value, part) => (value === null || value === undefined ? value : value[part]), figures);
  }

  function shown(key, value) {
    if (value === null || value === undefined) return "—";
    if (key === "on_time_rate" || key === "materials.sharing_rate") return (value * 100).toFixed(1) + "%";
    return String(value);
  }

  function provinceName(code) {
    return localityName(code + "0000").then((name) => (name === code + "0000" ? code : name));
  }

  const LEVELS = { province: [2, "全省", "province"], city: [4, "地市", "city"], county: [6, "区县", "county"] };

  /** The place key the API takes for a code at a level: 43, 4306 or 430602. */
  function placeKey(level, code) {
    const digits = LEVELS[level][0];
    return code.length >= digits ? code.slice(0, digits) : "";
  }

  /** The 6-digit code a place's name is looked up by: 430000, 430600, 430602. */
  function fullCode(key) {
    return (key + "0000").slice(0, 6);
  }

  function renderFigures(figures, name) {
    $("figures-section").hidden = false; // shown first: the charts take the width they get
    const level = LEVELS[figures.level] || LEVELS.county;
    $("figures-subject").textContent = name + "（" + figures.locality + " · " + level[1] + " " + level[2] + "） " + figures.month;
    const list = $("figures");
    list.replaceChildren();
    for (const [key, zh, en] of FIGURES) {
      list.append(h("div", { className: "figure" }, h("dt", {}, bi(zh, en)), h("dd", { dataset: { key } }, shown(key, valueOf(figures, key)))));
    }
    gauge($("chart-on-time"), figures.on_time_rate, { title: "按时办结率 On-time rate" });
    renderFollowUps(figures.follow_ups || []);
    const times = [
      ["用时中位数 median", figures.median_hours],
      ["用时 P90", figures.p90_hours],
    ].filter(([, value]) => typeof value === "number");
    bars(
      $("chart-times"),
      times.map(([text, value]) => ({ label: text, value, display: value.toFixed(1) + " h" })),
      { title: "办理用时（小时） Time to result (hours)" },
    );
    renderMaterials(figures.materials);
    renderMatters(figures.matters || []);
  }

  function rate(value) {
    return value === null || value === undefined ? "—" : (value * 100).toFixed(1) + "%";
  }

  /** One row of the matters table: a matter's totals (a row group's head) or one service's. */
  function matterRow(item, head) {
    const counts = ["received", "decided", "approved", "rejected"].map((key) => h("td", { className: "num" }, String(item[key])));
    return h(
      "tr",
      { className: head ? "matter" : "matter-service", dataset: head ? { kind: item.kind } : { service: item.service } },
      h("th", { scope: "row" }, bi(item.name_zh, item.name_en)),
      ...counts,
      h("td", { className: "num" }, rate(item.on_time_rate)),
    );
  }

  /** Each matter of the place's month (its totals), then its services. */
  function renderMatters(matters) {
    $("matters-none").hidden = matters.length > 0;
    $("matters-table").hidden = matters.length === 0;
    $("matters-rows").replaceChildren(...matters.flatMap((matter) => [matterRow(matter, true), ...matter.services.map((s) => matterRow(s, false))]));
  }

  /** The Wenzhou measure (evidences a family brings): the month's materials required, those families supplied
      (their application, documents, answers to one-time notices) and those sharing satisfied. */
  function renderMaterials(materials) {
    const counts = materials || {};
    const items = [
      ["所需 required", counts.required],
      ["群众提交 by families", counts.by_family],
      ["共享数据 shared data", counts.shared],
      ["电子证照 e-certificates", counts.certificate],
    ].filter(([, value]) => typeof value === "number" && counts.required > 0);
    bars(
      $("chart-materials"),
      items.map(([label, value], index) => ({ label, value, highlight: index === 1 })),
      { title: "申请材料 Materials", unit: "" },
    );
  }

  let current = null; // the settings shown: a recorded call-back reloads them

  function renderFollowUps(items) {
    $("follow-ups-none").hidden = items.length > 0;
    window.NLFollowUps.render($("follow-ups"), items, async () => {
      await show(current);
      $("monitor-status").textContent = "已记录回访 Call-back recorded · " + dateTime(new Date().toISOString());
    });
  }

  async function renderFlows(body) {
    $("flows-section").hidden = false;
    $("flows-subject").textContent = body.month;
    const flows = body.flows.slice().sort((a, b) => b.cases - a.cases);
    const names = new Map();
    await Promise.all(
      Array.from(new Set(flows.flatMap((f) => [f.birth_province, f.hukou_province])), async (code) => {
        names.set(code, await provinceName(code));
      }),
    );
    bars(
      $("chart-flows"),
      flows.map((flow) => ({
        label: names.get(flow.birth_province) + " → " + names.get(flow.hukou_province),
        value: flow.cases,
        highlight: flow.cross_province,
      })),
      { title: "出生地 → 落户地 Birth → hukou province", unit: "" },
    );
    const rows = $("flows-rows");
    rows.replaceChildren();
    if (!flows.length) rows.append(h("tr", {}, h("td", { colSpan: 4, className: "muted" }, bi("本月无数据", "No flows this month"))));
    for (const flow of flows) {
      rows.append(
        h(
          "tr",
          {},
          h("td", {}, names.get(flow.birth_province) + "（" + flow.birth_province + "）"),
          h("td", {}, names.get(flow.hukou_province) + "（" + flow.hukou_province + "）"),
          h("td", { className: "num" }, String(flow.cases)),
          h("td", {}, flow.cross_province ? bi("是", "yes") : bi("否", "no")),
        ),
      );
    }
  }

  /** Receiving province → handling province per matter and service (GET /monitoring/matter-flows). */
  async function renderMatterFlows(body) {
    const flows = body.flows.slice();
    const names = new Map();
    await Promise.all(
      Array.from(new Set(flows.flatMap((f) => [f.receiving_province, f.handling_province])), async (code) => {
        names.set(code, await provinceName(code));
      }),
    );
    const rows = $("matter-flows-rows");
    rows.replaceChildren();
    if (!flows.length) rows.append(h("tr", {}, h("td", { colSpan: 6, className: "muted" }, bi("本月无数据", "No flows this month"))));
    for (const flow of flows) {
      rows.append(
        h(
          "tr",
          { dataset: { kind: flow.kind, service: flow.service } },
          h("th", { scope: "row" }, bi(flow.kind_name_zh, flow.kind_name_en), h("br"), h("span", { className: "flow-service muted" }, bi(flow.service_name_zh, flow.service_name_en))),
          h("td", {}, names.get(flow.receiving_province) + "（" + flow.receiving_province + "）"),
          h("td", {}, names.get(flow.handling_province) + "（" + flow.handling_province + "）"),
          h("td", { className: "num" }, String(flow.received)),
          h("td", { className: "num" }, String(flow.decided)),
          h("td", {}, flow.cross_province ? bi("是", "yes") : bi("否", "no")),
        ),
      );
    }
  }

  const READS = {
    case: "案件 case",
    "as-of": "历史时点 as of",
    history: "历史 history",
    queue: "工作队列 queue",
    deliveries: "推送记录 deliveries",
    document: "材料文件 documents",
    feed: "系统订阅 feed",
    "follow-ups": "差评回访 follow-ups",
  };

  /** Each office's reads of personal data in the month (GET /monitoring/reads). */
  function renderReads(reads) {
    const offices = reads.offices || [];
    $("reads-none").hidden = offices.length > 0;
    $("reads-table").hidden = offices.length === 0;
    $("reads-rows").replaceChildren(
      ...offices.map((o) => {
        const byWhat = Object.entries(o.by_what).map(([what, n]) => (READS[what] || what) + " " + n.reads);
        return h(
          "tr",
          {},
          h("td", {}, authorityName(o.authority), " " + o.locality),
          h("td", { className: "num" }, String(o.reads)),
          h("td", {}, byWhat.join(" · ")),
        );
      }),
    );
  }

  async function show(settings) {
    const problem = $("monitor-problem");
    hideProblem(problem);
    const form = $("monitor-form");
    busy(form, true);
    const month = encodeURIComponent(settings.month);
    current = settings;
    try {
      const [figures, flows, name, reads, matterFlows] = await Promise.all([
        api("GET", "/monitoring/localities/" + encodeURIComponent(settings.locality) + "?month=" + month, null),
        api("GET", "/monitoring/flows?month=" + month, null),
        localityName(fullCode(settings.locality)),
        api("GET", "/monitoring/reads?month=" + month + "&locality=" + encodeURIComponent(settings.locality), null),
        api("GET", "/monitoring/matter-flows?month=" + month, null),
      ]);
      renderFigures(figures, name);
      renderReads(reads);
      await renderFlows(flows);
      await renderMatterFlows(matterFlows);
      $("monitor-status").textContent = "已更新 Updated " + dateTime(new Date().toISOString());
    } catch (error) {
      showApiProblem(problem, error);
    } finally {
      busy(form, false);
    }
  }

  $("monitor-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const code = $("monitor-locality").value.trim();
    const level = $("monitor-level").value;
    const settings = { locality: /^[1-8]\d(\d\d){0,2}$/.test(code) ? placeKey(level, code) : "", month: $("monitor-month").value.trim() };
    if (!settings.locality) {
      const digits = LEVELS[level][0];
      showProblem($("monitor-problem"), new window.NL.Problem(422, { title: "区划代码不符合所选层级 The code does not fit the level", detail: "至少 " + digits + " 位数字 at least " + digits + " digits", parameter: "locality" }));
      $("monitor-locality").focus();
      return;
    }
    if (!/^\d{4}-\d{2}$/.test(settings.month)) {
      showProblem($("monitor-problem"), new window.NL.Problem(422, { title: "请选择月份 Choose a month", detail: "", parameter: "month" }));
      $("monitor-month").focus();
      return;
    }
    show(settings);
  });

  /** The name of the place the code and level name, under the code. */
  function describePlace() {
    const hint = $("monitor-locality-name");
    const key = placeKey($("monitor-level").value, $("monitor-locality").value.trim());
    if (!/^[1-8]\d(\d\d){0,2}$/.test(key)) return;
    localityName(fullCode(key)).then((name) => {
      hint.textContent = name === fullCode(key) ? "未知区划 unknown code" : name + "（" + key + "）";
    });
  }
  $("monitor-locality").addEventListener("input", describePlace);
  $("monitor-level").addEventListener("change", describePlace);
  $("monitor-month").value = chinaMonth();
  window.NL.staff($("monitor-signed-out")).then((signed) => {
    $("monitor-form").hidden = !signed;
    if (signed && /^[1-8]\d$/.test(signed.scope || "")) {
      $("monitor-locality").value = signed.scope; // a province's monitor starts at its province
      describePlace();
    }
  });
})();
