/* Repairs and small behaviours for the markup that the book theme and its extensions generate.
 *
 * 1. WCAG 2.5.3 "label in name": a control's accessible name must contain its visible text.
 *    Some theme controls carry an aria-label that differs from what they show ("Search" on a
 *    button that reads "Search Ctrl+K"); their visible text becomes their name.
 *    Icons inside a labelled control are decorative: the label names the control.
 * 2. The bibliography marks its container as a list, so its entries must be list items.
 * 3. Sidebar toggles. Since pydata-sphinx-theme 0.17 the page carries two buttons of each kind,
 *    ".primary-toggle" (site navigation) and ".secondary-toggle" (contents of the page): the
 *    theme's header renders one that the book theme hides, and the book theme's article header
 *    renders the one a reader sees. Both themes' scripts bind only the first of each they find
 *    (the hidden one), so the visible buttons did nothing but show a tooltip
 *    (pydata-sphinx-theme issue #2451, sphinx-book-theme issue #988). A click on a visible toggle
 *    is handed to the bound one, which then does what the themes intend: on a wide screen the
 *    primary toggle collapses the sidebar, on a narrow one both open their panel as a dialog.
 *    Remove this repair when the themes bind every toggle themselves.
 * 4. Tables whose header names claims or verdicts are shown as one card per row on narrow
 *    screens (course.css); each cell gets its column's name as a label for that layout.
 * 5. Figures 900 px wide or more (9 inches at 100 px per inch), usually several panels side by
 *    side, keep a readable size on a phone and scroll sideways in their output (course.css).
 * 6. Printing opens every solution and hint dropdown, and closes again those the reader had
 *    closed (course.css does the same for browsers that support ::details-content).
 */
(function () {
  "use strict";

  function visibleText(element) {
    return (element.innerText || "").replace(/\s+/g, " ").trim();
  }

  function repairLabels(root) {
    root.querySelectorAll("[aria-label] svg").forEach(function (icon) {
      icon.setAttribute("aria-hidden", "true");
      icon.removeAttribute("aria-labelledby");
      icon.querySelectorAll("title").forEach(function (title) {
        title.remove();
      });
    });
    root.querySelectorAll("[aria-label]").forEach(function (element) {
      var text = visibleText(element);
      var label = element.getAttribute("aria-label") || "";
      if (text && label.toLowerCase().indexOf(text.toLowerCase()) === -1) {
        element.setAttribute("aria-label", text);
      }
    });
  }

  function repairCitationLists(root) {
    root.querySelectorAll('[role="list"].citation-list > *').forEach(function (entry) {
      entry.setAttribute("role", "listitem");
    });
  }

  function bindVisibleToggles() {
    ["primary", "secondary"].forEach(function (side) {
      var selector = "." + side + "-toggle";
      var bound = document.querySelector(selector);
      document.querySelectorAll(selector).forEach(function (button) {
        if (button === bound) {
          return;
        }
        button.addEventListener("click", function (event) {
          event.preventDefault();
          event.stopPropagation();
          var tooltip = window.bootstrap && window.bootstrap.Tooltip.getInstance(button);
          if (tooltip) {
            tooltip.hide();
          }
          bound.click();
          if (side === "primary") {
            // On a wide screen the sidebar collapses in place: say so to assistive technology.
            var sidebar = document.getElementById("pst-primary-sidebar");
            var hidden = sidebar && sidebar.classList.contains("pst-sidebar-hidden");
            button.setAttribute("aria-expanded", hidden ? "false" : "true");
          }
        });
      });
    });
  }

  var CARD_HEADERS = /\b(verdicts?|claims?)\b/i;

  function labelTableCells(root) {
    root.querySelectorAll("article table").forEach(function (table) {
      var headers = Array.from(table.querySelectorAll("thead th")).map(visibleText);
      if (headers.length < 3 || !headers.some(function (h) { return CARD_HEADERS.test(h); })) {
        return;
      }
      table.classList.add("course-cards");
      table.querySelectorAll("tbody tr").forEach(function (row) {
        Array.from(row.children).forEach(function (cell, index) {
          if (headers[index]) {
            cell.setAttribute("data-label", headers[index]);
          }
        });
      });
    });
  }

  var WIDE_FIGURE_PX = 900;

  function markWideFigures(root) {
    // The book writes a figure's display size into its inline style ("width: 886px").
    root.querySelectorAll("article .cell_output img, article figure img").forEach(function (img) {
      if (parseFloat(img.style.width || img.getAttribute("width") || "0") >= WIDE_FIGURE_PX) {
        img.classList.add("course-wide-figure");
      }
    });
  }

  var openedForPrint = [];

  function openDropdownsForPrint() {
    document.querySelectorAll("details.sd-dropdown:not([open])").forEach(function (details) {
      details.open = true;
      openedForPrint.push(details);
    });
  }

  function restoreDropdownsAfterPrint() {
    openedForPrint.forEach(function (details) {
      details.open = false;
    });
    openedForPrint = [];
  }

  function repair() {
    repairLabels(document);
    repairCitationLists(document);
  }

  window.addEventListener("beforeprint", openDropdownsForPrint);
  window.addEventListener("afterprint", restoreDropdownsAfterPrint);

  document.addEventListener("DOMContentLoaded", function () {
    bindVisibleToggles();
    labelTableCells(document);
    markWideFigures(document);
    repair();
    // The icon library swaps <i> placeholders for inline SVG after load: repair those too.
    new MutationObserver(repair).observe(document.body, { childList: true, subtree: true });
  });
})();
