/* The monitor page: a locality's figures for a month and the province-to-province flows. */
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
    ["parked", "待人工分派（本地）", "Waiting at the routing desk (here)"],
    ["parked_in_province", "待人工分派（全省）", "Waiting at the routing desk (province)"],
  ];

  function shown(key, value) {
    if (value === null || value === undefined) return "—";
    if (key === "on_time_rate") return (value * 100).toFixed(1) + "%";
    return String(value);
  }

  function provinceName(code) {
    return localityName(code + "0000").then((name) => (name === code + "0000" ? code : name));
  }

  function renderFigures(figures, name) {
    $("figures-section").hidden = false; // shown first: the charts take the width they get
    $("figures-subject").textContent = name + "（" + figures.locality + "） " + figures.month;
    const list = $("figures");
    list.replaceChildren();
    for (const [key, zh, en] of FIGURES) {
      list.append(h("div", { className: "figure" }, h("dt", {}, bi(zh, en)), h("dd", { dataset: { key } }, shown(key, figures[key]))));
    }
    gauge($("chart-on-time"), figures.on_time_rate, { title: "按时办结率 On-time rate" });
    const followUps = figures.follow_ups || [];
    $("follow-ups-none").hidden = followUps.length > 0;
    $("follow-ups").replaceChildren(
      ...followUps.map((f) => h("li", {}, f.score + "/5 · " + f.rated_at)),
    );
    const times = [
      ["用时中位数 median", figures.median_hours],
      ["用时 P90", figures.p90_hours],
    ].filter(([, value]) => typeof value === "number");
    bars(
      $("chart-times"),
      times.map(([text, value]) => ({ label: text, value, display: value.toFixed(1) + " h" })),
      { title: "办理用时（小时） Time to result (hours)" },
    );
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

  const READS = {
    case: "案件 case",
    "as-of": "历史时点 as of",
    history: "历史 history",
    queue: "工作队列 queue",
    deliveries: "推送记录 deliveries",
    document: "材料文件 documents",
    feed: "系统订阅 feed",
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
    try {
      const [figures, flows, name, reads] = await Promise.all([
        api("GET", "/monitoring/localities/" + encodeURIComponent(settings.locality) + "?month=" + month, null),
        api("GET", "/monitoring/flows?month=" + month, null),
        localityName(settings.locality),
        api("GET", "/monitoring/reads?month=" + month + "&locality=" + encodeURIComponent(settings.locality), null),
      ]);
      renderFigures(figures, name);
      renderReads(reads);
      await renderFlows(flows);
      $("monitor-status").textContent = "已更新 Updated " + dateTime(new Date().toISOString());
    } catch (error) {
      showApiProblem(problem, error);
    } finally {
      busy(form, false);
    }
  }

  $("monitor-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const settings = { locality: $("monitor-locality").value.trim(), month: $("monitor-month").value.trim() };
    if (!/^[1-8]\d{5}$/.test(settings.locality) || !/^\d{4}-\d{2}$/.test(settings.month)) {
      showProblem($("monitor-problem"), new window.NL.Problem(422, { title: "请填写 6 位区划代码和月份 A 6-digit locality and a month are needed", detail: "" }));
      return;
    }
    show(settings);
  });
  window.NL.describeLocality($("monitor-locality"), $("monitor-locality-name"));
  $("monitor-month").value = chinaMonth();
  window.NL.staff($("monitor-signed-out")).then((signed) => {
    $("monitor-form").hidden = !signed;
  });
})();
