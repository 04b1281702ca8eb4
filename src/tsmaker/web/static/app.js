// tsmaker's pages: plain JavaScript, no build step. Every page works without it; it adds
// the flux types of the chosen object catalog, live progress, and an upload size check.
"use strict";

const ACTIVE = ["queued", "running"];

// The flux-type list follows the object catalog (GET /api/catalogs/{ref}/flux-types).
function followFluxTypes(catalogSelect) {
  const target = document.getElementById(catalogSelect.dataset.target);
  const problem = document.getElementById(target.id + "-load-error");
  catalogSelect.addEventListener("change", async () => {
    const ref = catalogSelect.value;
    target.disabled = true;
    delete target.dataset.loadedFor;
    const url = catalogSelect.dataset.fluxTypesUrl.replace("{ref}", encodeURIComponent(ref));
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      const body = await response.json();
      if (!response.ok) throw new Error(body.detail || response.statusText);
      const wanted = target.value;
      const options = [new Option("the catalog's default", "")];
      for (const [type, bands] of Object.entries(body)) {
        options.push(new Option(`${type} (${bands.join("")})`, type, false, type === wanted));
      }
      target.replaceChildren(...options);
      problem.hidden = true;
      problem.textContent = "";
    } catch (error) {
      target.replaceChildren(new Option("the catalog's default", ""));
      problem.textContent = String(error.message || error);
      problem.hidden = false;
    } finally {
      target.disabled = false;
      target.dataset.loadedFor = ref;  // tests and scripts wait on this
    }
  });
}

function progressHtml(product) {
  const progress = product.progress || {};
  const span = (text) => {
    const element = document.createElement("span");
    element.className = "progress-text";
    element.textContent = text;
    return element;
  };
  if (!ACTIVE.includes(product.status)) return [];
  if (progress.partitions_total) {
    const bar = document.createElement("progress");
    bar.max = progress.partitions_total;
    bar.value = progress.partitions_done;
    return [bar, span(` ${progress.partitions_done}/${progress.partitions_total} partitions`)];
  }
  if (progress.step) return [span(progress.step)];
  if (product.queue_position) return [span(`waiting (${product.queue_position} in the queue)`)];
  return [];
}

function showState(element, product) {
  const status = element.querySelector("[data-field=status]");
  // A queued run whose job has started (planning, with its steps) is not waiting.
  const starting = product.status === "queued" && Boolean((product.progress || {}).step);
  status.textContent = starting ? "starting" : product.status;
  status.className = `status status-${product.status}`;
  element.querySelector("[data-field=progress]").replaceChildren(...progressHtml(product));
  const rows = element.querySelector("[data-field=rows]");
  if (rows) rows.textContent = product.rows ?? "";
  const matched = element.querySelector("[data-field=matched]");
  const fraction = (product.summary || {}).matched_fraction;
  if (matched && fraction != null) matched.textContent = `${(100 * fraction).toFixed(1)}%`;
}

// The products list: every row follows GET /api/products, each second and a half while
// any is queued or running, else every ten seconds; a product made or removed elsewhere
// (another tab, the command line, a colleague) reloads the list.
function followProducts(list) {
  const shownIds = () => [...list.querySelectorAll("tr[data-id]")].map((row) => row.dataset.id);
  const tick = async () => {
    let active = list.dataset.live === "yes";
    try {
      const products = await (await fetch(list.dataset.pollUrl)).json();
      const listed = products.map((product) => String(product.id));
      const shown = shownIds();
      if (listed.length !== shown.length || listed.some((id) => !shown.includes(id))) {
        window.location.reload();
        return;
      }
      active = false;
      for (const product of products) {
        const row = document.getElementById(`product-${product.id}`);
        if (row) showState(row, product);
        active = active || ACTIVE.includes(product.status);
      }
    } catch (error) {
      // the server is busy or restarting: try again
    }
    setTimeout(tick, active ? 1500 : 10000);
  };
  setTimeout(tick, 1000);
}

// A product's page follows its product, and shows its files and plot once it ends.
function followProduct(state) {
  const tick = async () => {
    try {
      const product = await (await fetch(state.dataset.pollUrl)).json();
      if (!ACTIVE.includes(product.status)) {
        window.location.reload();
        return;
      }
      showState(state, product);
    } catch (error) { /* try again */ }
    setTimeout(tick, 1000);
  };
  setTimeout(tick, 1000);
}

// A file over the server's upload limit is refused before it is sent.
function checkUploadSize(input) {
  input.form.addEventListener("submit", (event) => {
    const file = input.files[0];
    const problem = document.getElementById("file-error");
    const limit = Number(input.dataset.maxBytes);
    if (file && file.size > limit) {
      event.preventDefault();
      problem.textContent = `${file.name} is ${(file.size / 1e6).toFixed(1)} MB, over the ` +
        `server's limit of ${(limit / 1e6).toFixed(1)} MB; register it from the command line ` +
        "(tsmaker catalogs add-redshift)";
      problem.hidden = false;
    }
  });
}

document.querySelectorAll("select[data-flux-types-url]").forEach(followFluxTypes);
document.querySelectorAll("#product-list[data-poll-url]").forEach(followProducts);
document.querySelectorAll("#product-state[data-poll-url]").forEach(followProduct);
document.querySelectorAll("input[type=file][data-max-bytes]").forEach(checkUploadSize);
