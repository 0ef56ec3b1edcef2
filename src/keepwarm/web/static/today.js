// Today: keys to move between cards and act on the focused one, and the keys' help overlay;
// the print button of a printable letter. The page works without it.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const print = document.querySelector("[data-print]");
  if (print) {
    print.hidden = false;
    print.addEventListener("click", () => window.print());
  }
  const help = document.getElementById("keys-help");
  if (!help) return;
  const cards = Array.from(document.querySelectorAll("[data-card]"));
  const toggleHelp = (show) => { help.hidden = show === undefined ? !help.hidden : !show; };
  const hint = document.querySelector("[data-keys-help]");
  if (hint) {
    hint.hidden = false;
    hint.addEventListener("click", () => toggleHelp());
  }
  for (const button of help.querySelectorAll("[data-keys-close]")) {
    button.addEventListener("click", () => toggleHelp(false));
  }
  let current = -1;
  const focused = () => {
    const card = document.activeElement && document.activeElement.closest("[data-card]");
    return card ? cards.indexOf(card) : current;
  };
  const focusCard = (index) => {
    if (!cards.length) return;
    current = Math.max(0, Math.min(cards.length - 1, index));
    cards[current].focus();
    cards[current].scrollIntoView({ block: "nearest" });
  };
  const openStep = (name) => {
    const index = focused();
    if (index < 0) return;
    const card = cards[index];
    for (const step of card.querySelectorAll("details[data-step]")) {
      step.open = step.dataset.step === name;
    }
    const step = card.querySelector(`details[data-step="${name}"]`);
    const field = step && step.querySelector("select, input:not([type=hidden])");
    if (field) field.focus();
  };
  // One step's fields open at a time on a card.
  for (const step of document.querySelectorAll("details[data-step]")) {
    step.addEventListener("toggle", () => {
      if (!step.open) return;
      for (const other of step.closest("[data-card]").querySelectorAll("details[data-step]")) {
        if (other !== step) other.open = false;
      }
    });
  }
  const typing = (el) =>
    el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape") {
      if (!help.hidden) {
        toggleHelp(false);
        event.preventDefault();
        return;
      }
      const card = document.activeElement && document.activeElement.closest("[data-card]");
      if (card) {
        for (const step of card.querySelectorAll("details[data-step]")) step.open = false;
        card.focus();
      }
      return;
    }
    if (typing(event.target)) return;
    const actions = {
      j: () => focusCard(focused() + 1),
      ArrowDown: () => focusCard(focused() + 1),
      k: () => focusCard(Math.max(focused() - 1, 0)),
      ArrowUp: () => focusCard(Math.max(focused() - 1, 0)),
      d: () => openStep("done"),
      s: () => openStep("snooze"),
      x: () => openStep("dismiss"),
      "?": () => toggleHelp(),
    };
    const act = actions[event.key];
    if (act) {
      event.preventDefault();
      act();
    }
  });
});
