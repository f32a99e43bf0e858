/*
 * Appointment book (Patient Access System 3.1).
 * Draws one provider's day from GET /api/appointments?prov=&date=, shows a clicked appointment
 * through GET /api/appointments/{id}, and books / reschedules / cancels through the JSON API.
 * Errors are shown exactly as the server words them (the ERR text). Data is only ever put on
 * the page with textContent, never innerHTML.
 */
(function () {
  'use strict';

  var root = document.getElementById('apptbook');
  if (!root) { return; }
  var prov = root.getAttribute('data-prov');
  var day = root.getAttribute('data-date');
  var canBook = root.getAttribute('data-can-book') === '1';
  var DAY_START = 8 * 60, DAY_END = 17 * 60, SLOT = 15;
  var STATUS = { B: 'Booked', A: 'Arrived', N: 'No show', C: 'Cancelled' };
  var selected = null;

  function $(id) { return document.getElementById(id); }

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (cls) { node.className = cls; }
    return node;
  }

  function minutes(hhmm) { return parseInt(hhmm.slice(0, 2), 10) * 60 + parseInt(hhmm.slice(2), 10); }

  function hhmm(mins) {
    var h = Math.floor(mins / 60), m = mins % 60;
    return (h < 10 ? '0' : '') + h + (m < 10 ? '0' : '') + m;
  }

  function showTime(t) { return t.slice(0, 2) + ':' + t.slice(2); }

  function say(text, ok) {
    var msg = $('msg');
    msg.textContent = text;
    msg.className = 'msg ' + (ok ? 'ok' : 'error');
  }

  // One JSON call; resolves to {ok, status, data} and never rejects on HTTP errors.
  function api(method, url, body) {
    var options = { method: method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      options.headers['Content-Type'] = 'application/json';
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      return response.json().then(
        function (data) { return { ok: response.ok, status: response.status, data: data }; },
        function () { return { ok: false, status: response.status, data: { ERR: 'SYSTEM ERROR (HTTP ' + response.status + ')' } }; }
      );
    }, function () {
      return { ok: false, status: 0, data: { ERR: 'NETWORK ERROR - THE SERVER DID NOT ANSWER' } };
    });
  }

  function failure(result) {
    if (result.status === 401) {
      say('NOT LOGGED IN - your session has expired. Log in again.', false);
      return;
    }
    say(result.data.ERR || ('HTTP ' + result.status), false);
  }

  function loadDay() {
    var url = '/api/appointments?prov=' + encodeURIComponent(prov) + '&date=' + encodeURIComponent(day);
    return api('GET', url).then(function (result) {
      if (!result.ok) { failure(result); return; }
      drawDay(result.data.APPTS);
    });
  }

  function drawDay(appts) {
    var rows = $('day-rows');
    while (rows.firstChild) { rows.removeChild(rows.firstChild); }
    var byStart = {}, busyUntil = 0, outside = [];
    appts.forEach(function (a) {
      var start = minutes(a.APPT_TM);
      if (start < DAY_START || start >= DAY_END || start % SLOT !== 0) { outside.push(a); return; }
      (byStart[start] = byStart[start] || []).push(a);
    });
    for (var t = DAY_START; t < DAY_END; t += SLOT) {
      var here = byStart[t] || [];
      here.forEach(function (a) {
        rows.appendChild(apptRow(a));
        if (a.STATUS_CD === 'B' || a.STATUS_CD === 'A') { busyUntil = Math.max(busyUntil, minutes(a.APPT_TM) + a.DUR_MIN); }
      });
      var occupied = here.some(function (a) { return a.STATUS_CD === 'B' || a.STATUS_CD === 'A'; });
      if (!occupied) { rows.appendChild(freeRow(t, t < busyUntil)); }
    }
    outside.forEach(function (a) { rows.appendChild(apptRow(a)); });
    if (selected !== null) { highlight(selected); }
  }

  function apptRow(a) {
    var tr = el('tr', null, 'appt st-' + a.STATUS_CD);
    tr.setAttribute('data-appt', a.APPT_ID);
    [showTime(a.APPT_TM), a.PAT_NM, a.DUR_MIN, STATUS[a.STATUS_CD] || a.STATUS_CD, a.REASON_TXT].forEach(function (v) {
      tr.appendChild(el('td', v));
    });
    tr.addEventListener('click', function () { showDetail(a.APPT_ID); });
    return tr;
  }

  function freeRow(t, busy) {
    var tr = el('tr', null, busy ? 'busy' : 'free');
    tr.appendChild(el('td', showTime(hhmm(t))));
    var cell = el('td', busy ? '' : 'open', null);
    cell.colSpan = 4;
    tr.appendChild(cell);
    if (!busy && canBook) {
      tr.addEventListener('click', function () { $('f-time').value = hhmm(t); $('f-date').value = day; });
    }
    return tr;
  }

  function highlight(apptId) {
    var rows = document.querySelectorAll('#day-rows tr');
    for (var i = 0; i < rows.length; i++) {
      var match = rows[i].getAttribute('data-appt') === String(apptId);
      rows[i].className = rows[i].className.replace(/ ?selected/g, '') + (match ? ' selected' : '');
    }
  }

  function showDetail(apptId) {
    return api('GET', '/api/appointments/' + encodeURIComponent(apptId)).then(function (result) {
      if (!result.ok) { failure(result); return; }
      var a = result.data, panel = $('detail');
      selected = a.APPT_ID;
      highlight(selected);
      while (panel.firstChild) { panel.removeChild(panel.firstChild); }
      panel.appendChild(el('h3', 'Appointment #' + a.APPT_ID));
      var facts = el('table', null, 'facts');
      [['Patient', a.PAT_NM + ' (ID ' + a.PAT_ID + ')'], ['Date', a.APPT_DT], ['Time', showTime(a.APPT_TM)],
        ['Duration', a.DUR_MIN + ' min'], ['Status', STATUS[a.STATUS_CD] || a.STATUS_CD],
        ['Reason', a.REASON_TXT], ['Last update', a.UPD_TS]].forEach(function (pair) {
        var tr = el('tr');
        tr.appendChild(el('th', pair[0]));
        tr.appendChild(el('td', pair[1]));
        facts.appendChild(tr);
      });
      panel.appendChild(facts);
      var chart = el('a', 'Open patient chart');
      chart.href = '/patients/' + encodeURIComponent(a.PAT_ID);
      panel.appendChild(chart);
      if (canBook) {
        $('f-pat').value = a.PAT_ID;
        $('f-date').value = a.APPT_DT;
        $('f-time').value = a.APPT_TM;
        $('f-dur').value = String(a.DUR_MIN);
        $('f-reason').value = a.REASON_TXT;
        $('do-move').disabled = a.STATUS_CD === 'C';
        $('do-cancel').disabled = a.STATUS_CD === 'C';
      }
    });
  }

  function formFields() {
    return {
      APPT_DT: $('f-date').value.trim(),
      APPT_TM: $('f-time').value.trim(),
      DUR_MIN: parseInt($('f-dur').value, 10),
      REASON_TXT: $('f-reason').value
    };
  }

  function afterWrite(result, what) {
    if (!result.ok) { failure(result); return; }
    say(what + ' (appointment #' + result.data.APPT_ID + ').', true);
    return loadDay().then(function () { return showDetail(result.data.APPT_ID); });
  }

  function book() {
    var body = formFields();
    var patId = $('f-pat').value.trim();
    // Sent as a number when it looks like one, so the server's own checks decide the rest.
    body.PAT_ID = /^[0-9]+$/.test(patId) ? parseInt(patId, 10) : patId;
    body.PROV_ID = parseInt(prov, 10);
    api('POST', '/api/appointments', body).then(function (r) { return afterWrite(r, 'Booked'); });
  }

  function reschedule() {
    if (selected === null) { return; }
    var body = formFields();
    body.PROV_ID = parseInt(prov, 10);
    api('PUT', '/api/appointments/' + selected, body).then(function (r) { return afterWrite(r, 'Rescheduled'); });
  }

  function cancel() {
    if (selected === null || !window.confirm('Cancel appointment #' + selected + '?')) { return; }
    api('POST', '/api/appointments/' + selected + '/cancel').then(function (r) { return afterWrite(r, 'Cancelled'); });
  }

  function findPatients() {
    var q = $('pat-q').value.trim(), list = $('pat-results');
    while (list.firstChild) { list.removeChild(list.firstChild); }
    api('GET', '/api/patients?q=' + encodeURIComponent(q)).then(function (result) {
      if (!result.ok) { failure(result); return; }
      if (result.data.COUNT === 0) { list.appendChild(el('li', 'No match.')); }
      result.data.PATIENTS.forEach(function (p) {
        var item = el('li', p.LAST_NM + ', ' + p.FIRST_NM + ' - ' + p.MRN + ' - DOB ' + p.DOB);
        item.addEventListener('click', function () { $('f-pat').value = p.PAT_ID; });
        list.appendChild(item);
      });
    });
  }

  if (canBook) {
    $('do-book').addEventListener('click', book);
    $('do-move').addEventListener('click', reschedule);
    $('do-cancel').addEventListener('click', cancel);
    $('pat-find').addEventListener('click', findPatients);
    $('pat-q').addEventListener('keydown', function (e) { if (e.key === 'Enter') { e.preventDefault(); findPatients(); } });
  }
  loadDay();
}());
