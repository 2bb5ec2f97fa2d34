// Renders state diagrams (<pre class="mermaid-source" data-diagram>) with the vendored Mermaid, in place.
// A separate file because the Content-Security-Policy allows no inline script; the page stays readable
// (the Mermaid source is shown) when Mermaid is missing or fails.
(function () {
  "use strict";
  // The partial may be included more than once on a page; render each diagram once.
  if (window.govflowDiagrams) {
    return;
  }
  window.govflowDiagrams = true;

  function done(container, status) {
    if (container) {
      container.setAttribute("data-rendered", status);
    }
  }

  async function renderAll() {
    var sources = Array.prototype.slice.call(document.querySelectorAll("pre.mermaid-source[data-diagram]"));
    if (!sources.length) {
      return;
    }
    if (!window.mermaid) {
      sources.forEach(function (pre) { done(pre.parentElement, "error"); });
      return;
    }
    // strict: labels are sanitised and click handlers in diagram text are ignored.
    window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });
    // One at a time: Mermaid measures text in a shared scratch element while rendering.
    for (var i = 0; i < sources.length; i++) {
      var pre = sources[i];
      var container = pre.parentElement;
      try {
        var result = await window.mermaid.render("govflow-diagram-" + i, pre.textContent);
        var holder = document.createElement("div");
        holder.className = "diagram-svg";
        holder.innerHTML = result.svg;
        pre.replaceWith(holder);
        done(container, "1");
      } catch (err) {
        done(container, "error");
        if (window.console) {
          window.console.error("govflow: could not draw the diagram", err);
        }
      }
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", renderAll);
  } else {
    renderAll();
  }
})();
