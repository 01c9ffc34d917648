// Robofleet's web application: progressive enhancement of server-rendered pages.
// Confirmations, live regions fed by Server-Sent Events, uploads with progress, select-all.
(function () {
  "use strict";
  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  // Destructive actions ask first; the server asks again when the script did not run.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    const question = form.getAttribute("data-confirm");
    if (!question || form.dataset.confirmed === "yes") return;
    if (!window.confirm(question)) { event.preventDefault(); return; }
    let field = form.querySelector('input[name="confirmed"]');
    if (!field) {
      field = document.createElement("input");
      field.type = "hidden"; field.name = "confirmed";
      form.appendChild(field);
    }
    field.value = "yes";
    form.dataset.confirmed = "yes";
  });

  // Select every row's checkbox of a table.
  document.addEventListener("change", (event) => {
    const all = event.target.closest("[data-select-all]");
    if (!all) return;
    const block = document.getElementById(all.getAttribute("data-select-all"));
    if (!block) return;
    block.querySelectorAll('tbody input[type="checkbox"][name="selected"]').forEach((box) => { box.checked = all.checked; });
  });

  // Live regions: <section data-live-src="/events/x" data-live-fragment="/x?fragment=y">.
  // Each event from the stream reloads the fragment (the server renders it, as on load).
  // The stream's `ready` comes once its first probe is taken (again after each reconnection):
  // one reload then covers whatever changed between the page's render and that probe.
  const meaningful = (parent) => Array.from(parent.childNodes).filter((node) => node.nodeType !== Node.TEXT_NODE || node.textContent.trim());
  function sameNodes(region, fresh) {
    const now = meaningful(region);
    const next = meaningful(fresh);
    return now.length === next.length && now.every((node, at) => node.isEqualNode(next[at]));
  }

  function live(region) {
    const source = new EventSource(region.getAttribute("data-live-src"));
    let pending = null;
    let again = false;
    const load = async () => {
      const url = region.getAttribute("data-live-fragment");
      const response = await fetch(url, { headers: { "X-Fragment": "1" }, credentials: "same-origin" });
      if (!response.ok) return;
      const holder = document.createElement("template");
      holder.innerHTML = await response.text();
      localTimes(holder.content);
      // An unchanged fragment stays as it is: no lost selection, focus or scroll.
      if (sameNodes(region, holder.content)) return;
      const focused = document.activeElement && region.contains(document.activeElement) ? document.activeElement.id : "";
      region.replaceChildren(holder.content);
      if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
    };
    // A change heard during a reload may postdate the fragment being fetched: reload once more.
    const refresh = () => {
      if (pending) { again = true; return pending; }
      pending = (async () => {
        try {
          do { again = false; await load(); } while (again);
        } finally { pending = null; }
      })();
      return pending;
    };
    source.addEventListener("ready", async () => {
      try { await refresh(); } finally { region.dataset.liveReady = "1"; }
    });
    source.addEventListener("change", refresh);
    source.addEventListener("end", () => { refresh(); source.close(); });
  }

  // Live lists: <ol data-live-append="/events/job-log?..."> gets one <li> per `line` event
  // (the event's data is the line's HTML, rendered and escaped by the server).
  function append(list) {
    const source = new EventSource(list.getAttribute("data-live-append"));
    source.addEventListener("line", (event) => {
      const holder = document.createElement("template");
      holder.innerHTML = event.data;
      list.appendChild(holder.content);
      const box = list.closest("[data-scroll]") || list;
      box.scrollTop = box.scrollHeight;
    });
    source.addEventListener("end", () => source.close());
    list.dataset.liveReady = "1";
  }

  // Uploads with progress: <form data-upload> with a file input and a <progress>; the drop
  // zone takes dragged files. Without the script the form posts as usual.
  function uploader(form) {
    const input = form.querySelector('input[type="file"]');
    const zone = form.querySelector(".dropzone");
    const bar = form.querySelector("progress");
    const status = form.querySelector("[data-upload-status]");
    if (zone && input) {
      ["dragenter", "dragover"].forEach((name) => zone.addEventListener(name, (e) => { e.preventDefault(); zone.classList.add("over"); }));
      ["dragleave", "drop"].forEach((name) => zone.addEventListener(name, (e) => { e.preventDefault(); zone.classList.remove("over"); }));
      zone.addEventListener("drop", (e) => {
        if (e.dataTransfer && e.dataTransfer.files.length) {
          input.files = e.dataTransfer.files;
          input.dispatchEvent(new Event("change", { bubbles: true }));
        }
      });
    }
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const request = new XMLHttpRequest();
      request.open(form.method || "POST", form.action);
      request.setRequestHeader("X-CSRF-Token", csrf());
      request.setRequestHeader("X-Requested-With", "fetch");
      if (bar) { bar.hidden = false; bar.value = 0; }
      request.upload.addEventListener("progress", (e) => {
        if (bar && e.lengthComputable) { bar.max = e.total; bar.value = e.loaded; }
        if (status && e.lengthComputable) status.textContent = Math.round((100 * e.loaded) / e.total) + "%";
      });
      request.addEventListener("load", () => {
        if (request.status >= 400) {
          if (bar) bar.hidden = true;
          if (status) status.textContent = request.status === 413 ? "The file is larger than this server accepts." : "The upload failed (" + request.status + "); try again.";
          return;
        }
        if (request.responseURL) { window.location.assign(request.responseURL); }
        else { window.location.reload(); }
      });
      request.addEventListener("error", () => { if (status) status.textContent = "The upload failed; try again."; });
      request.send(new FormData(form));
    });
  }

  // Times: shown in the browser's own zone.
  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach((node) => {
      const moment = new Date(node.getAttribute("datetime"));
      if (!isNaN(moment)) { node.title = node.textContent; node.textContent = moment.toLocaleString(); }
    });
  }


  // Tabs: <nav data-tabs="form-id"> of links to the form's sections (#id). Without the
  // script every section shows, one after the other; with it one at a time, as tabs (arrow
  // keys move between them), and a field the browser finds invalid shows its own tab.
  function tabs(nav) {
    const links = Array.from(nav.querySelectorAll('a[href^="#"]'));
    const panels = links.map((link) => document.getElementById(link.getAttribute("href").slice(1)));
    if (!links.length || panels.some((panel) => !panel)) return;
    nav.setAttribute("role", "tablist");
    const show = (index, focus) => {
      links.forEach((link, i) => {
        const selected = i === index;
        link.setAttribute("aria-selected", selected ? "true" : "false");
        link.tabIndex = selected ? 0 : -1;
        panels[i].hidden = !selected;
      });
      if (focus) links[index].focus();
    };
    links.forEach((link, i) => {
      link.setAttribute("role", "tab");
      link.setAttribute("aria-controls", panels[i].id);
      panels[i].setAttribute("role", "tabpanel");
      panels[i].setAttribute("aria-labelledby", link.id || "");
      link.addEventListener("click", (event) => { event.preventDefault(); show(i, false); });
      link.addEventListener("keydown", (event) => {
        const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
        if (step) { event.preventDefault(); show((i + step + links.length) % links.length, true); }
      });
    });
    const form = document.getElementById(nav.getAttribute("data-tabs"));
    if (form) {
      form.addEventListener("invalid", (event) => {
        const at = panels.findIndex((panel) => panel.contains(event.target));
        if (at >= 0) show(at, false);
      }, true);
    }
    const wanted = panels.findIndex((panel) => "#" + panel.id === window.location.hash);
    show(wanted >= 0 ? wanted : 0, false);
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-live-src]").forEach(live);
    document.querySelectorAll("[data-live-append]").forEach(append);
    document.querySelectorAll("form[data-upload]").forEach(uploader);
    document.querySelectorAll("nav[data-tabs]").forEach(tabs);
    localTimes(document);
  });
})();
