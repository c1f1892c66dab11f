/** How often the status page asks /healthz again. */
export const STATUS_POLL_MS = 3_000;

/**
 * The status page's only script, inline so the page loads nothing from elsewhere; the CSP allows
 * exactly this text by its hash. It polls /status.json (the /healthz document, always 200) and rebuilds the page from the JSON. Every
 * value from the relay is put in with textContent or setAttribute, never parsed as HTML: channel
 * names and reasons come from other networks.
 */
export const STATUS_PAGE_SCRIPT = `
'use strict';
(function () {
  var POLL_MS = ${STATUS_POLL_MS};
  var STATE_LABEL = { connected: 'connected', connecting: 'connecting', disconnected: 'not connected', failed: 'failed' };
  var PROTOCOL_LABEL = { irc: 'IRC', kosmi: 'Kosmi', matrix: 'Matrix' };
  var DIRECTION_LABEL = { inout: 'in + out', in: 'in only', out: 'out only' };
  var TOKEN_WARN_DAYS = 7;
  var lastOk = null;

  function $(id) { return document.getElementById(id); }
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function duration(seconds) {
    var s = Math.max(0, Math.floor(seconds));
    if (s < 60) return s + 's';
    var m = Math.floor(s / 60);
    if (m < 60) return m + 'm';
    var h = Math.floor(m / 60);
    if (h < 48) return h + 'h ' + (m % 60) + 'm';
    return Math.floor(h / 24) + 'd ' + (h % 24) + 'h';
  }
  function clock(date) {
    var sameDay = date.toDateString() === new Date().toDateString();
    return sameDay ? date.toLocaleTimeString() : date.toLocaleString();
  }
  function pill(state) {
    var node = el('span', 'pill state-' + state, STATE_LABEL[state] || state);
    return node;
  }
  function row(list, label, value, className) {
    var item = el('div', 'row' + (className ? ' ' + className : ''));
    item.append(el('span', 'label', label), el('span', 'value', value));
    list.append(item);
    return item;
  }

  function renderAccounts(data, now) {
    var ids = Object.keys(data.accounts).sort();
    var cards = ids.map(function (id) {
      var a = data.accounts[id];
      var card = el('article', 'card account');
      card.setAttribute('data-account', id);
      card.setAttribute('data-state', a.state);
      var head = el('div', 'card-head');
      head.append(el('h3', 'name', id), pill(a.state));
      card.append(head);
      var since = new Date(a.since);
      var facts = el('div', 'facts');
      row(facts, 'Network', PROTOCOL_LABEL[a.protocol] || a.protocol || '?');
      row(facts, 'Since', clock(since) + ' \u00b7 ' + duration((now - since.getTime()) / 1000) + ' ago');
      if (a.reason) row(facts, 'Reason', a.reason, 'reason');
      row(facts, 'Waiting', a.queue_depth + (a.queue_depth === 1 ? ' message' : ' messages'), a.queue_depth > 0 ? 'warn' : '');
      if (a.token_expires_at) {
        var days = (Date.parse(a.token_expires_at) - now) / 86400000;
        var left = days >= 1 ? Math.floor(days) + ' days left' : duration(days * 86400) + ' left';
        row(facts, 'Token', left + ' (' + new Date(a.token_expires_at).toLocaleDateString() + ')', days < TOKEN_WARN_DAYS ? 'warn' : '');
      }
      if (a.has_refresh_token !== undefined) {
        row(facts, 'Refresh token', a.has_refresh_token ? 'held' : 'none', a.has_refresh_token ? '' : 'muted');
      }
      card.append(facts);
      return card;
    });
    $('accounts').replaceChildren.apply($('accounts'), cards.length ? cards : [el('p', 'muted', 'No accounts.')]);
  }

  function renderGateways(data) {
    var cards = data.gateways.map(function (g) {
      var card = el('article', 'card gateway');
      card.setAttribute('data-gateway', g.name);
      card.append(el('h3', 'name', g.name));
      var list = el('ul', 'endpoints');
      g.endpoints.forEach(function (e) {
        var account = data.accounts[e.account];
        var state = account ? account.state : 'unknown';
        var item = el('li', 'endpoint');
        item.setAttribute('data-account', e.account);
        item.setAttribute('data-channel', e.channel);
        var dot = el('span', 'dot state-' + state);
        dot.title = STATE_LABEL[state] || state;
        item.append(dot, el('span', 'channel', e.channel), el('span', 'via', e.account), el('span', 'direction', DIRECTION_LABEL[e.direction] || e.direction));
        list.append(item);
      });
      card.append(list);
      return card;
    });
    $('gateways').replaceChildren.apply($('gateways'), cards.length ? cards : [el('p', 'muted', 'No gateways.')]);
  }

  function renderQueues(data) {
    var rows = data.queues.map(function (q) {
      var tr = el('tr', q.depth > 0 ? 'waiting' : '');
      tr.setAttribute('data-account', q.account);
      tr.setAttribute('data-channel', q.channel);
      var where = el('td', 'where');
      where.append(el('span', 'channel', q.channel), el('span', 'via', q.account));
      tr.append(
        where,
        el('td', 'num', q.depth),
        el('td', 'num', q.oldest_age_seconds === null ? '-' : duration(q.oldest_age_seconds)),
        el('td', 'num', q.delivered),
        el('td', 'num' + (q.dropped > 0 ? ' bad' : ''), q.dropped)
      );
      return tr;
    });
    $('queue-rows').replaceChildren.apply($('queue-rows'), rows);
  }

  function renderTraffic(data) {
    var span = data.traffic.window_seconds;
    $('traffic-title').textContent = 'Relayed in the last ' + (span === 3600 ? 'hour' : duration(span));
    var list = $('traffic');
    if (data.traffic.directions.length === 0) {
      list.replaceChildren(el('li', 'muted', 'Nothing relayed.'));
      return;
    }
    list.replaceChildren.apply(list, data.traffic.directions.map(function (t) {
      var item = el('li', 'direction-row');
      item.setAttribute('data-from', t.from);
      item.setAttribute('data-to', t.to);
      item.append(el('span', 'from', t.from), el('span', 'arrow', '\\u2192'), el('span', 'to', t.to), el('span', 'count', t.messages));
      return item;
    }));
  }

  function render(data) {
    var now = Date.parse(data.generated_at);
    var overall = $('overall');
    overall.textContent = data.status === 'ok' ? 'all connected' : 'degraded';
    overall.className = 'pill ' + (data.status === 'ok' ? 'state-connected' : 'state-disconnected');
    overall.setAttribute('data-status', data.status);
    document.title = (data.status === 'ok' ? '' : '\u26a0 ') + 'kosmi-relay status';
    var durable = data.durable === true ? 'durable' : 'not durable: kept in memory until the store can write again';
    $('version').textContent = data.version;
    $('uptime').textContent = duration(data.uptime_seconds);
    $('store').textContent = durable;
    renderAccounts(data, now);
    renderGateways(data);
    renderQueues(data);
    renderTraffic(data);
  }

  function poll() {
    fetch('/status.json', { cache: 'no-store', headers: { accept: 'application/json' } })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        render(data);
        lastOk = new Date();
        $('updated').textContent = lastOk.toLocaleTimeString();
        $('offline').hidden = true;
        document.body.setAttribute('data-loaded', 'true');
      })
      .catch(function () {
        var overall = $('overall');
        overall.textContent = 'relay unreachable';
        overall.className = 'pill state-failed';
        overall.setAttribute('data-status', 'unreachable');
        document.title = '\u26a0 kosmi-relay status';
        $('offline').hidden = false;
      })
      .finally(function () { setTimeout(poll, POLL_MS); });
  }
  poll();
})();
`;
