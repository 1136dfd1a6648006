/*
 * Performance dashboard (/admin/performance/).
 *
 * Every few seconds: GET the dashboard JSON (session cookie auth), then
 * redraw the summary, the SVG charts and the tables. Retry buttons POST the
 * job id with the CSRF token and refresh at once. No libraries: the charts
 * are a few SVG elements drawn below.
 *
 * Each chart's <figure> gets data-points (values drawn) and data-nonzero
 * (values above zero), so tests and curious operators can read what is shown.
 */
(function () {
  "use strict";

  var SVG_NS = "http://www.w3.org/2000/svg";
  var DASH = "\u2013"; // shown for any missing or null value
  // Drawing area inside each chart's viewBox (see the template).
  var W = 480, H = 180, M = { top: 10, right: 10, bottom: 22, left: 44 };

  var root = document.getElementById("perf-dashboard");
  if (!root) return;
  var dataUrl = root.dataset.dataUrl;
  var retryUrl = root.dataset.retryUrl;
  var refreshMs = (parseFloat(root.dataset.refreshSeconds) || 5) * 1000;
  var statusLine = document.getElementById("perf-status");
  var pendingRetries = {}; // job id -> true while its POST is in flight
  var notice = ""; // said once before the next "Updated ..." (a retry's outcome)
  var timer = null;

  // --- Small helpers ---------------------------------------------------------

  function isNum(v) {
    return typeof v === "number" && isFinite(v);
  }

  // A number with at most `digits` decimals, or a dash.
  function fmt(v, digits) {
    if (!isNum(v)) return DASH;
    var d = digits === undefined ? (Math.abs(v) < 10 && v % 1 ? 2 : 0) : digits;
    return v.toLocaleString(undefined, { maximumFractionDigits: d });
  }

  function pct(fraction) {
    return isNum(fraction) ? fraction * 100 : null;
  }

  function timeOf(iso, withSeconds) {
    var d = iso ? new Date(iso) : null;
    if (!d || isNaN(d.getTime())) return DASH;
    var opts = { hour: "2-digit", minute: "2-digit" };
    if (withSeconds) opts.second = "2-digit";
    return d.toLocaleTimeString([], opts);
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function svg(tag, attrs, text) {
    var node = document.createElementNS(SVG_NS, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function setStatus(text, isError) {
    statusLine.textContent = text;
    statusLine.classList.toggle("errornote", !!isError);
  }

  // The CSRF token: from the cookie when scripts may read it, otherwise from
  // the {% csrf_token %} input (this project sets CSRF_COOKIE_HTTPONLY).
  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    var input = root.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // A round upper bound for the y axis: 1, 2, 2.5, 5 or 10 times a power of ten.
  function niceMax(v) {
    if (!(v > 0)) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * p >= v) return steps[i] * p;
    return 10 * p;
  }

  // --- Charts ----------------------------------------------------------------

  /*
   * Draw `points` ([{label, value}], value may be null) into the chart <figure>.
   * opts.kind: "line" (time series) or "bars"; opts.max: fixed top of the
   * y axis; opts.allLabels: label every bar (categories) instead of the ends.
   */
  function drawChart(id, points, opts) {
    var fig = document.getElementById(id);
    if (!fig) return;
    var box = fig.querySelector("svg");
    while (box.firstChild) box.removeChild(box.firstChild);

    var values = points.map(function (p) { return isNum(p.value) ? p.value : null; });
    var present = values.filter(function (v) { return v !== null; });
    fig.dataset.points = String(present.length);
    fig.dataset.nonzero = String(present.filter(function (v) { return v > 0; }).length);
    var latest = fig.querySelector("[data-role=latest]");
    if (latest) latest.textContent = present.length ? "now " + fmt(present[present.length - 1]) : DASH;

    var plotW = W - M.left - M.right, plotH = H - M.top - M.bottom;
    var top = opts.max || niceMax(Math.max.apply(null, present.concat([0])));
    var y = function (v) { return M.top + plotH - (v / top) * plotH; };
    var n = Math.max(points.length, 1);

    // Horizontal grid lines with their values: 0, half, top.
    [0, top / 2, top].forEach(function (v) {
      box.appendChild(svg("line", { "class": "grid", x1: M.left, x2: W - M.right, y1: y(v), y2: y(v) }));
      box.appendChild(svg("text", { "class": "axis", x: M.left - 4, y: y(v) + 4, "text-anchor": "end" }, fmt(v)));
    });

    if (!points.length) {
      box.appendChild(svg("text", { "class": "axis", x: W / 2, y: H / 2, "text-anchor": "middle" }, "No data"));
      return;
    }

    // X labels: each category, or the first and last time.
    points.forEach(function (p, i) {
      var last = i === points.length - 1;
      if (!opts.allLabels && i !== 0 && !last) return;
      var x = opts.kind === "bars" ? M.left + (i + 0.5) * plotW / n
        : M.left + (points.length > 1 ? i * plotW / (points.length - 1) : plotW / 2);
      var anchor = opts.allLabels ? "middle" : (i === 0 ? "start" : "end");
      box.appendChild(svg("text", { "class": "axis", x: x, y: H - 6, "text-anchor": anchor }, p.label));
    });

    if (opts.kind === "bars") {
      var bw = plotW / n;
      points.forEach(function (p, i) {
        if (values[i] === null) return;
        var h = Math.max(y(0) - y(values[i]), values[i] > 0 ? 1 : 0);
        var bar = svg("rect", {
          "class": "bar", x: M.left + i * bw + bw * 0.15, y: y(0) - h,
          width: Math.max(bw * 0.7, 1), height: h, "data-value": values[i]
        });
        bar.appendChild(svg("title", {}, p.label + ": " + fmt(values[i])));
        box.appendChild(bar);
      });
      return;
    }

    // Line: one path, broken where a value is missing, and a dot per value.
    var d = "", pen = "M";
    points.forEach(function (p, i) {
      if (values[i] === null) { pen = "M"; return; }
      var x = M.left + (points.length > 1 ? i * plotW / (points.length - 1) : plotW / 2);
      d += pen + x.toFixed(1) + "," + y(values[i]).toFixed(1) + " ";
      pen = "L";
      var dot = svg("circle", { "class": "point", cx: x, cy: y(values[i]), r: 2, "data-value": values[i] });
      dot.appendChild(svg("title", {}, p.label + ": " + fmt(values[i])));
      box.appendChild(dot);
    });
    if (d) box.insertBefore(svg("path", { "class": "line", d: d }), box.firstChild);
  }

  // --- Tables ----------------------------------------------------------------

  function fillTable(id, rows, columns, rowAttrs) {
    var body = document.querySelector("#" + id + " tbody");
    while (body.firstChild) body.removeChild(body.firstChild);
    if (!rows.length) {
      var empty = el("tr", { "class": "perf-empty" });
      empty.appendChild(el("td", { colspan: columns.length }, "None"));
      body.appendChild(empty);
      return;
    }
    rows.forEach(function (row) {
      var tr = el("tr", rowAttrs ? rowAttrs(row) : {});
      columns.forEach(function (col) {
        var td = el("td", col.num ? { "class": "num" } : {});
        var content = col.cell(row);
        if (content instanceof Node) td.appendChild(content);
        else td.textContent = content === null || content === undefined || content === "" ? DASH : String(content);
        if (col.title && col.title(row)) td.title = col.title(row);
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }

  function retryButton(job) {
    var button = el("button", { type: "button", "class": "button perf-retry", "data-job-id": job.id }, "Retry");
    if (pendingRetries[job.id]) { button.disabled = true; button.textContent = "Retrying\u2026"; }
    button.addEventListener("click", function () { retry(job.id, button); });
    return button;
  }

  // --- Rendering the whole answer --------------------------------------------

  function render(data) {
    var summary = data.summary || {};
    root.querySelectorAll("#perf-summary [data-field]").forEach(function (dd) {
      var field = dd.dataset.field, v = summary[field];
      if (field === "error_rate") v = pct(v);
      dd.textContent = isNum(v) ? fmt(v, field === "rate_per_s" || field === "error_rate" ? 2 : 1) + (dd.dataset.unit || "") : DASH;
    });

    var series = data.series || [];
    var at = function (row) { return timeOf(row.minute); };
    drawChart("chart-request-rate", series.map(function (r) {
      return { label: at(r), value: isNum(r.requests) ? r.requests / 60 : null };
    }), { kind: "line" });
    drawChart("chart-p95-latency", series.map(function (r) {
      return { label: at(r), value: r.p95_ms };
    }), { kind: "line" });
    drawChart("chart-error-rate", series.map(function (r) {
      var rate = isNum(r.error_rate) ? r.error_rate
        : (isNum(r.errors) && r.requests > 0 ? r.errors / r.requests : null);
      return { label: at(r), value: pct(rate) };
    }), { kind: "line" });
    drawChart("chart-cache-hit-rate", series.map(function (r) {
      return { label: at(r), value: pct(r.cache_hit_rate) };
    }), { kind: "line", max: 100 });

    var queues = data.queues || [];
    drawChart("chart-queue-depth", queues.map(function (q) {
      return { label: q.queue || String(q.priority), value: q.queued };
    }), { kind: "bars", allLabels: true });
    drawChart("chart-job-failures", (data.job_failures || []).map(function (r) {
      return { label: at(r), value: r.failed };
    }), { kind: "bars" });

    fillTable("perf-queues", queues, [
      { cell: function (q) { return q.queue; } },
      { cell: function (q) { return q.priority; } },
      { num: true, cell: function (q) { return fmt(q.queued); } },
      { num: true, cell: function (q) { return fmt(q.running); } },
      { num: true, cell: function (q) { return fmt(q.broker_depth); } },
      { num: true, cell: function (q) { return isNum(q.oldest_queued_seconds) ? fmt(q.oldest_queued_seconds, 0) + " s" : DASH; } }
    ]);

    fillTable("perf-slow-queries", data.slow_queries || [], [
      { cell: function (q) { return el("code", {}, q.fingerprint || DASH); },
        title: function (q) { return q.example || q.fingerprint; } },
      { cell: function (q) { return q.route; } },
      { num: true, cell: function (q) { return fmt(q.count); } },
      { num: true, cell: function (q) { return fmt(q.total_ms, 1); } },
      { num: true, cell: function (q) { return fmt(q.avg_ms, 1); } },
      { num: true, cell: function (q) { return fmt(q.max_ms, 1); } }
    ]);

    fillTable("perf-failed-jobs", data.failed_jobs || [], [
      { cell: function (j) { return j.id ? String(j.id).slice(0, 8) : DASH; }, title: function (j) { return j.id; } },
      { cell: function (j) { return j.type; } },
      { cell: function (j) { return j.priority; } },
      { num: true, cell: function (j) { return fmt(j.attempts) + " / " + fmt(j.max_attempts); } },
      { cell: function (j) { return j.error; }, title: function (j) { return j.error; } },
      { cell: function (j) { return j.finished_at ? new Date(j.finished_at).toLocaleString() : DASH; } },
      { cell: function (j) { return j.id ? retryButton(j) : DASH; } }
    ], function (j) { return { "data-job-id": j.id || "" }; });

    root.dataset.generatedAt = data.generated_at || "";
  }

  // --- Network ---------------------------------------------------------------

  // Load once and schedule the next load when this one is done (never two at once).
  function refresh() {
    clearTimeout(timer);
    return fetch(dataUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        render(data);
        root.dataset.loaded = "true";
        setStatus(notice + "Updated " + timeOf(data.generated_at || new Date().toISOString(), true) +
          "; refreshes every " + refreshMs / 1000 + " s.");
        notice = "";
      })
      .catch(function (error) {
        setStatus("Could not load the figures (" + error.message + "); retrying.", true);
      })
      .then(function () { timer = setTimeout(refresh, refreshMs); });
  }

  function retry(jobId, button) {
    pendingRetries[jobId] = true;
    button.disabled = true;
    button.textContent = "Retrying\u2026";
    fetch(retryUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({ job_id: jobId })
    })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        notice = "Retried " + fmt(data && data.retried, 0) + " job(s). ";
      })
      .catch(function (error) {
        notice = "Retry failed (" + error.message + "). ";
      })
      .then(function () {
        delete pendingRetries[jobId];
        return refresh();
      });
  }

  refresh();
})();
