/* Accessibility repairs for markup that the book theme and its extensions generate.
 *
 * 1. WCAG 2.5.3 "label in name": a control's accessible name must contain its visible text.
 *    Some theme controls carry an aria-label that differs from what they show ("Search" on a
 *    button that reads "Search Ctrl+K"); their visible text becomes their name.
 *    Icons inside a labelled control are decorative: the label names the control.
 * 2. The bibliography marks its container as a list, so its entries must be list items.
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

  function repair() {
    repairLabels(document);
    repairCitationLists(document);
  }

  document.addEventListener("DOMContentLoaded", function () {
    repair();
    // The icon library swaps <i> placeholders for inline SVG after load: repair those too.
    new MutationObserver(repair).observe(document.body, { childList: true, subtree: true });
  });
})();
