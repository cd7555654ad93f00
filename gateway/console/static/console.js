// The reference console: sign in with a key, follow incidents live, open one, draw the chart.
//
// How a frontend uses the gateway, in one page without a framework or a build step:
// graphql.js runs queries and mutations, live.js holds the subscription socket, chart.js
// draws the dashboard's volume series. Data is put in the page with textContent only, so
// nothing a mention or a responder wrote can run as markup.

import { drawVolumeChart } from "./chart.js";
import { GraphQLClient, loadDocuments, normalizeBase } from "./graphql.js";
import { LiveConnection } from "./live.js";

// sessionStorage: the key lives as long as the tab and is gone when it closes; never
// localStorage, which any later visitor of this browser profile could read.
const KEY_ENTRY = "crisiswatch-console-key";
const GATEWAY_ENTRY = "crisiswatch-console-gateway";
const INCIDENTS_SHOWN = 50;
const CHART_HOURS = 24;
// Mentions arrive in bursts; the chart is re-read at most this often while they do.
const CHART_REFRESH_MS = 1500;
const DETAIL_REFRESH_MS = 300;

const $ = (selector) => document.querySelector(selector);

const state = {
  client: null,
  live: null,
  incidents: new Map(),
  openId: null,
  chartTimer: null,
  detailTimer: null,
  stops: [],
};

let documents = null;

async function main() {
  documents = await loadDocuments(new URL("./documents.json", import.meta.url));
  $("#gateway-url").value = sessionStorage.getItem(GATEWAY_ENTRY) ?? window.location.origin;
  $("#sign-in").addEventListener("submit", (event) => {
    event.preventDefault();
    signIn($("#gateway-url").value, $("#api-key").value);
  });
  $("#sign-in-fields").disabled = false;
  $("#sign-out").addEventListener("click", signOut);
  $("#acknowledge").addEventListener("click", acknowledgeOpenIncident);
  $("#refresh-chart").addEventListener("click", refreshChart);
  window.addEventListener("hashchange", openLinkedIncident);
  const key = sessionStorage.getItem(KEY_ENTRY);
  if (key) await signIn($("#gateway-url").value, key);
}

async function signIn(gatewayUrl, key) {
  showError("#sign-in-error", "");
  let base;
  try {
    base = normalizeBase(gatewayUrl);
  } catch (problem) {
    showError("#sign-in-error", problem.message);
    return;
  }
  const client = new GraphQLClient(base, key.trim(), documents);
  try {
    // The first query is the sign-in: an unknown key is refused here with the reason.
    await loadIncidents(client);
  } catch (problem) {
    showError("#sign-in-error", problem.message);
    return;
  }
  state.client = client;
  sessionStorage.setItem(KEY_ENTRY, key.trim());
  sessionStorage.setItem(GATEWAY_ENTRY, base);
  $("#api-key").value = "";
  $("#sign-in").hidden = true;
  $("#console").hidden = false;
  $("#sign-out").hidden = false;
  $("#signed-in-to").textContent = base;
  startLive(base, key.trim());
  await Promise.all([refreshChart(), openLinkedIncident()]);
}

function signOut() {
  sessionStorage.removeItem(KEY_ENTRY);
  for (const stop of state.stops) stop();
  state.live?.close();
  Object.assign(state, { client: null, live: null, incidents: new Map(), openId: null, stops: [] });
  $("#console").hidden = true;
  $("#incident").hidden = true;
  $("#sign-out").hidden = true;
  $("#sign-in").hidden = false;
  $("#signed-in-to").textContent = "";
}

function startLive(base, key) {
  const live = new LiveConnection(base, key, {
    onState: showLiveState,
    // Nothing is replayed after a reconnect: re-read what the page shows.
    onConnected: () => resync(),
  });
  state.stops = [
    live.subscribe(documents.get("ConsoleIncidentUpdates"), {}, {
      next: ({ data, errors }) => {
        if (errors?.length) return showError("#console-error", errors[0].message);
        applyUpdate(data.incidentUpdates);
      },
      error: (errors) => showError("#console-error", errors[0]?.message ?? "subscription refused"),
    }),
    live.subscribe(documents.get("ConsoleMentions"), {}, {
      next: () => scheduleChartRefresh(),
      error: (errors) => showError("#console-error", errors[0]?.message ?? "subscription refused"),
    }),
  ];
  state.live = live;
  live.open();
}

async function resync() {
  if (!state.client) return;
  try {
    await loadIncidents(state.client);
    if (state.openId) await openIncident(state.openId);
    scheduleChartRefresh();
    showError("#console-error", "");
  } catch (problem) {
    showError("#console-error", problem.message);
  }
}

// Incidents

async function loadIncidents(client) {
  const data = await client.run("ConsoleIncidents", { first: INCIDENTS_SHOWN });
  for (const { node } of data.incidents.edges) {
    const arrivedLive = state.incidents.get(node.id)?.arrivedLive === true;
    state.incidents.set(node.id, { ...node, arrivedLive });
  }
  renderIncidents();
}

function applyUpdate(update) {
  const known = state.incidents.get(update.incident.id);
  const arrivedLive = known ? known.arrivedLive === true : true;
  state.incidents.set(update.incident.id, { ...update.incident, arrivedLive });
  renderIncidents();
  if (update.incident.id === state.openId) scheduleDetailRefresh();
}

// One incident change often comes with several (a signal joins, a task is done): the open
// incident is re-read once they have settled.
function scheduleDetailRefresh() {
  clearTimeout(state.detailTimer);
  state.detailTimer = setTimeout(() => {
    if (state.openId) openIncident(state.openId);
  }, DETAIL_REFRESH_MS);
}

function renderIncidents() {
  const list = $("#incidents");
  const incidents = [...state.incidents.values()].sort((a, b) =>
    b.detectedAt.localeCompare(a.detectedAt),
  );
  // Rows are kept and changed in place rather than rebuilt, so a row being clicked is not
  // swapped out under the pointer while updates stream in.
  const rows = new Map([...list.children].map((item) => [item.dataset.id, item]));
  incidents.forEach((incident, index) => {
    const item = rows.get(incident.id) ?? incidentRow(incident.id);
    rows.delete(incident.id);
    fillIncidentRow(item, incident);
    if (list.children[index] !== item) list.insertBefore(item, list.children[index] ?? null);
  });
  for (const stale of rows.values()) stale.remove();
  $("#incidents-empty").hidden = incidents.length > 0;
}

function incidentRow(id) {
  const item = document.createElement("li");
  item.className = "incident";
  item.dataset.id = id;
  const button = document.createElement("button");
  button.type = "button";
  button.addEventListener("click", () => {
    const { databaseId } = state.incidents.get(id);
    // The address names the open incident, so it can be shared or reloaded.
    if (window.location.hash !== linkTo(databaseId)) window.location.hash = linkTo(databaseId);
    else openIncident(id);
  });
  item.append(button);
  return item;
}

function fillIncidentRow(item, incident) {
  item.dataset.tier = incident.tier;
  item.dataset.status = incident.status;
  item.classList.toggle("arrived-live", incident.arrivedLive === true);
  item.classList.toggle("open", incident.id === state.openId);
  const shown = [incident.tier, incident.title, incident.status, incident.detectedAt].join("\n");
  if (item.dataset.shown === shown) return;
  item.dataset.shown = shown;
  item.firstElementChild.replaceChildren(
    badge(incident.tier, "tier"),
    text("span", incident.title, "title"),
    text("span", label(incident.status), "status"),
    text("time", formatTime(incident.detectedAt), "detected"),
  );
}

// Links such as #/incidents/<databaseId> open one incident; set CONSOLE_URL to
// `<this page>#/incidents/{incident_id}` and chat alerts link straight to it.
const LINK = /^#\/incidents\/([0-9a-f-]{36})$/i;

function linkTo(databaseId) {
  return `#/incidents/${databaseId}`;
}

async function openLinkedIncident() {
  const linked = LINK.exec(window.location.hash);
  if (!linked || !state.client) return;
  const databaseId = linked[1].toLowerCase();
  const listed = [...state.incidents.values()].find((item) => item.databaseId === databaseId);
  // An incident beyond the list is named by its Relay global id: base64 of "Incident:<uuid>".
  await openIncident(listed ? listed.id : btoa(`Incident:${databaseId}`));
}

async function openIncident(id) {
  state.openId = id;
  let data;
  try {
    data = await state.client.run("ConsoleIncident", { id });
  } catch (problem) {
    showError("#console-error", problem.message);
    return;
  }
  // A later click may have opened another incident while this one was read.
  if (state.openId !== id) return;
  const incident = data.incident;
  const panel = $("#incident");
  if (!incident) {
    panel.hidden = true;
    return;
  }
  panel.hidden = false;
  panel.dataset.id = incident.id;
  panel.dataset.status = incident.status;
  $("#incident-title").textContent = incident.title;
  $("#incident-facts").replaceChildren(
    badge(incident.tier, "tier"),
    text("span", label(incident.status), "status"),
    text("span", incident.watchlist ? `watchlist ${incident.watchlist.name}` : "", "watchlist"),
    text("span", `detected ${formatTime(incident.detectedAt)}`, "detected"),
    text(
      "span",
      incident.acknowledgedAt
        ? `acknowledged ${formatTime(incident.acknowledgedAt)} by ${incident.acknowledgedBy}`
        : "not acknowledged",
      "acknowledged",
    ),
  );
  $("#acknowledge").disabled = incident.status !== "DETECTED";
  $("#tasks tbody").replaceChildren(
    ...incident.tasksConnection.nodes.map((task) =>
      row([task.title, label(task.status), formatTime(task.dueAt)], "task", task.status),
    ),
  );
  $("#timeline").replaceChildren(
    ...incident.timelineConnection.nodes.map((event) => {
      const item = text("li", "", "event");
      item.dataset.kind = event.eventKind;
      item.append(
        text("time", formatTime(event.occurredAt)),
        text("span", event.message, "message"),
        text("span", event.actor, "actor"),
      );
      return item;
    }),
  );
  $("#statements").replaceChildren(
    ...incident.statementsConnection.nodes.map((statement) => {
      const item = text("li", "", "statement");
      item.dataset.status = statement.status;
      item.append(
        text(
          "span",
          `${statement.channel} · ${label(statement.status)} · level ${statement.reviewLevel}`,
          "meta",
        ),
        text("p", statement.body, "body"),
      );
      return item;
    }),
  );
  $("#statements-empty").hidden = incident.statementsConnection.nodes.length > 0;
  const listed = state.incidents.get(incident.id);
  if (listed) {
    state.incidents.set(incident.id, { ...listed, status: incident.status, tier: incident.tier });
  }
  renderIncidents();
}

async function acknowledgeOpenIncident() {
  const id = state.openId;
  if (!id) return;
  $("#acknowledge").disabled = true;
  try {
    const data = await state.client.run("ConsoleAcknowledge", {
      id,
      note: "acknowledged in the reference console",
    });
    const result = data.incidentAcknowledge;
    // A mutation answers a union: the object, or a typed refusal with its message.
    if (result.__typename !== "Incident") {
      showMessage(`${result.__typename}: ${result.message}`);
      return;
    }
    showMessage(`Acknowledged by ${result.acknowledgedBy}.`);
    await openIncident(id);
  } catch (problem) {
    showMessage(problem.message);
  }
}

// Chart

function scheduleChartRefresh() {
  if (state.chartTimer !== null) return;
  state.chartTimer = setTimeout(async () => {
    state.chartTimer = null;
    await refreshChart();
  }, CHART_REFRESH_MS);
}

async function refreshChart() {
  if (!state.client) return;
  const until = new Date();
  const since = new Date(until.getTime() - CHART_HOURS * 3600 * 1000);
  try {
    const data = await state.client.run("ConsoleDashboard", {
      since: since.toISOString(),
      until: until.toISOString(),
      // Hours start on the viewer's own clock.
      utcOffsetMinutes: -until.getTimezoneOffset(),
    });
    const points = data.dashboard.volume;
    drawVolumeChart($("#chart"), points);
    const total = points.reduce((sum, point) => sum + point.total, 0);
    const negative = points.reduce((sum, point) => sum + point.negative, 0);
    $("#chart-summary").textContent =
      `${total} mentions in the last ${CHART_HOURS} hours, ${negative} negative.`;
  } catch (problem) {
    showError("#console-error", problem.message);
  }
}

// Small DOM helpers

function text(tag, content, className = "") {
  const node = document.createElement(tag);
  node.textContent = content;
  if (className) node.className = className;
  return node;
}

function badge(tier, className) {
  const node = text("span", tier, className);
  node.dataset.tier = tier;
  return node;
}

function row(cells, className, status) {
  const tr = document.createElement("tr");
  tr.className = className;
  tr.dataset.status = status;
  tr.append(...cells.map((cell) => text("td", cell)));
  return tr;
}

function label(value) {
  return value.toLowerCase().replaceAll("_", " ");
}

function formatTime(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

function showLiveState(name, detail) {
  const node = $("#live-state");
  node.dataset.state = name;
  node.textContent = name;
  node.title = detail;
}

function showError(selector, message) {
  $(selector).textContent = message;
}

function showMessage(message) {
  $("#incident-message").textContent = message;
}

main().catch((problem) => showError("#sign-in-error", problem.message));
