/* The office page's own section: the bad ratings this office answers for (GET /follow-ups),
   each with its call-back form (follow-ups.js). The rest of the page is office.js's. */
"use strict";

(function () {
  const { api, session, showApiProblem, hideProblem } = window.NL;
  const $ = (id) => document.getElementById(id);

  async function load() {
    const problem = $("office-follow-ups-problem");
    hideProblem(problem);
    try {
      const body = await api("GET", "/follow-ups", null);
      $("office-follow-ups-none").hidden = body.follow_ups.length > 0;
      window.NLFollowUps.render($("office-follow-ups"), body.follow_ups, load);
    } catch (error) {
      showApiProblem(problem, error);
    }
    $("office-follow-ups-section").hidden = false;
  }

  session().then(
    (signed) => {
      if (signed && signed.role === "office") load();
    },
    () => {}, // office.js shows why the session could not be read
  );
})();
