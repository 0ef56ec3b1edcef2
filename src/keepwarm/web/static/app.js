// Small conveniences on top of pages that work without JavaScript.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // "Copy draft" buttons (hidden unless the clipboard can be used).
  for (const button of document.querySelectorAll("button[data-copy]")) {
    if (!navigator.clipboard) continue;
    button.hidden = false;
    button.addEventListener("click", async () => {
      const area = document.getElementById(button.dataset.copy);
      await navigator.clipboard.writeText(area.value);
      button.textContent = "Copied";
      setTimeout(() => { button.textContent = "Copy draft"; }, 1500);
    });
  }
  // Keep an Email link's body in step with its edited draft.
  for (const link of document.querySelectorAll("a[data-mailto-for]")) {
    const area = document.getElementById(link.dataset.mailtoFor);
    if (!area) continue;
    area.addEventListener("input", () => {
      const url = new URL(link.href);
      const subject = url.searchParams.get("subject") || "";
      const base = link.href.split("?")[0];
      link.href = base + "?subject=" + encodeURIComponent(subject) +
        "&body=" + encodeURIComponent(area.value);
    });
  }
  // Live preview of a template being edited (settings), from the server's own renderer.
  for (const form of document.querySelectorAll("form[data-preview]")) {
    const target = document.getElementById(form.dataset.preview);
    const area = form.querySelector("textarea");
    if (!target || !area) continue;
    let timer = null;
    const refresh = () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const body = new FormData(form);
        const answer = await fetch(form.dataset.previewUrl, { method: "POST", body });
        if (answer.ok) target.textContent = (await answer.json()).text;
      }, 300);
    };
    area.addEventListener("input", refresh);
    form.addEventListener("change", refresh);  // e.g. another client chosen for the preview
  }
});
