/* Bad ratings to call back (差评回访), as a list of work items with a call-back form each:
   the monitor page and the office page's own section (office-follow-ups.js) show them. */
"use strict";

window.NLFollowUps = (function () {
  const { h, api, bi, serviceName, authorityName, showApiProblem, hideProblem, dateTime, busy } = window.NL;
  const OUTCOMES = [
    ["fixed", "问题已当即整改", "fixed at once"],
    ["registered", "列入台账限期整改", "registered, to be fixed by a deadline"],
    ["explained", "已解释说明", "explained"],
    ["appealed", "申诉复核", "appealed, to be re-checked"],
    ["unreachable", "未能联系上", "could not be reached"],
  ];
  const BY = { office: ["办理单位", "the office"], monitor: ["监测人员", "a monitor"] };

  function chinaToday() {
    return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
  }

  function outcomeText(code) {
    const found = OUTCOMES.find(([value]) => value === code);
    return found ? bi(found[1], found[2]) : document.createTextNode(code || "—");
  }

  function state(item) {
    if (item.call_backs > 0) {
      const by = BY[item.called_back_by] || [item.called_back_by, item.called_back_by];
      return h(
        "span",
        { className: "badge follow-up-done" },
        bi("已回访", "called back"),
        " · ",
        outcomeText(item.outcome),
        " · ",
        bi(by[0], by[1]),
      );
    }
    const late = item.due && item.due < chinaToday();
    return h("span", { className: "badge " + (late ? "follow-up-late" : "follow-up-open") }, late ? bi("逾期未回访", "overdue") : bi("待回访", "to call back"));
  }

  /** One item's call-back form; `recorded` runs after the API took it. */
  function form(item, index, recorded) {
    const id = "call-back-" + index;
    const problem = h("p", { className: "problem", role: "alert", hidden: true });
    const outcome = h(
      "select",
      { id: id + "-outcome", name: "outcome", required: true },
      h("option", { value: "" }, "请选择 / choose"),
      ...OUTCOMES.map(([value, zh, en]) => h("option", { value }, zh + " / " + en)),
    );
    const note = h("textarea", { id: id + "-note", name: "note", rows: 2, maxLength: 2000 });
    const element = h(
      "form",
      { className: "form call-back", method: "post", noValidate: true },
      h("div", { className: "field" }, h("label", { htmlFor: outcome.id }, bi("回访结果", "Outcome")), outcome),
      h("div", { className: "field" }, h("label", { htmlFor: note.id }, bi("回访记录（可选）", "Note (optional)")), note),
      h("div", { className: "actions" }, h("button", { type: "submit" }, bi("记录回访", "Record call-back"))),
      problem,
    );
    element.addEventListener("submit", async (event) => {
      event.preventDefault();
      hideProblem(problem);
      if (!outcome.value) {
        showApiProblem(problem, new window.NL.Problem(422, { title: "请选择回访结果 Choose an outcome", field: "outcome" }));
        outcome.focus();
        return;
      }
      busy(element, true);
      try {
        await api("POST", "/cases/" + encodeURIComponent(item.case_id) + "/call-backs", null, { outcome: outcome.value, note: note.value.trim() });
        await recorded(item);
      } catch (error) {
        showApiProblem(problem, error);
        busy(element, false);
      }
    });
    return element;
  }

  /** Render `items` into the list element; `recorded(item)` after a call-back is taken. */
  function render(list, items, recorded) {
    list.replaceChildren(
      ...items.map((item, index) =>
        h(
          "li",
          { className: "follow-up", dataset: { caseId: item.case_id } },
          h("p", { className: "follow-up-head" }, h("strong", {}, item.score + "/5"), " ", state(item)),
          h(
            "dl",
            { className: "facts" },
            h("dt", {}, bi("案件", "Case")),
            h("dd", {}, h("code", { className: "case-id" }, item.case_id)),
            h("dt", {}, bi("被评事项", "Rated service")),
            h("dd", {}, serviceName(item.service)),
            h("dt", {}, bi("责任单位", "Unit")),
            h("dd", {}, authorityName(item.authority), " " + item.locality),
            h("dt", {}, bi("评价时间", "Rated")),
            h("dd", {}, dateTime(item.rated_at)),
            h("dt", {}, bi("回访期限", "Call back by")),
            h("dd", {}, item.due || "—"),
            h("dt", {}, bi("评价内容", "Comment")),
            h("dd", { className: "comment" }, item.comment ? "“" + item.comment + "”" : "—"),
          ),
          form(item, index, recorded),
        ),
      ),
    );
  }

  return { render };
})();
