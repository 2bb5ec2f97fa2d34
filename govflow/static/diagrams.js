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

  // Zoom buttons (−, 100 %, +) before the drawing; their labels come from the figure's data attributes (translated).
  function addZoom(container, holder) {
    var svg = holder.querySelector("svg");
    if (!container || !svg) {
      return;
    }
    var width = svg.getBoundingClientRect().width || parseFloat(svg.getAttribute("width")) || 0;
    if (!width) {
      return;
    }
    var scale = 1;
    var bar = document.createElement("div");
    bar.className = "diagram-zoom";
    bar.setAttribute("role", "group");
    bar.setAttribute("aria-label", container.getAttribute("data-zoom-label") || "Zoom");
    function apply() {
      svg.style.width = Math.round(width * scale) + "px";
      svg.style.maxWidth = "none";
      svg.style.height = "auto";
      container.setAttribute("data-zoom", String(scale));
    }
    [["-", container.getAttribute("data-zoom-out") || "Zoom out", function () { scale = Math.max(0.25, scale / 1.25); }],
     ["100%", container.getAttribute("data-zoom-reset") || "Actual size", function () { scale = 1; }],
     ["+", container.getAttribute("data-zoom-in") || "Zoom in", function () { scale = Math.min(4, scale * 1.25); }]
    ].forEach(function (spec) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "secondary";
      button.textContent = spec[0] === "-" ? "\u2212" : spec[0];
      button.setAttribute("aria-label", spec[1]);
      button.setAttribute("title", spec[1]);
      button.setAttribute("data-zoom-action", spec[0]);
      button.addEventListener("click", function () { spec[2](); apply(); });
      bar.appendChild(button);
    });
    holder.parentNode.insertBefore(bar, holder);
    apply();
    // On a narrow screen the current state may be drawn beyond the frame's right edge: bring it into view.
    var current = svg.querySelector("g.node.s_active");
    if (current && holder.scrollWidth > holder.clientWidth) {
      var box = current.getBoundingClientRect();
      var frame = holder.getBoundingClientRect();
      holder.scrollLeft += (box.left + box.width / 2) - (frame.left + frame.width / 2);
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
    // Drawn at their natural size (labels as large as the page's text), never shrunk to the column: a wide diagram
    // scrolls inside its frame, and the zoom buttons enlarge or reduce it.
    window.mermaid.initialize({
      startOnLoad: false,
      securityLevel: "strict",
      themeVariables: { fontSize: "16px" },
      state: { useMaxWidth: false },
      flowchart: { useMaxWidth: false }
    });
    // One at a time: Mermaid measures text in a shared scratch element while rendering.
    for (var i = 0; i < sources.length; i++) {
      var pre = sources[i];
      var container = pre.parentElement;
      try {
        var result = await window.mermaid.render("govflow-diagram-" + i, pre.textContent);
        var holder = document.createElement("div");
        holder.className = "diagram-svg";
        // A scrolling frame the keyboard can reach (arrow keys scroll it once focused).
        holder.setAttribute("tabindex", "0");
        holder.setAttribute("role", "group");
        holder.setAttribute("aria-label", (container.querySelector("figcaption") || {}).textContent || "Diagram");
        holder.innerHTML = result.svg;
        pre.replaceWith(holder);
        addZoom(container, holder);
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
