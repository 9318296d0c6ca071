// The one stylesheet and the one script of the web pages, served from /static/.
//
// Plain ES2020, no build step, no framework: each page says what it is in
// `<body data-page="...">` and the script wires that page's forms. Healthy page loads make no
// request that can fail (lists are rendered by the server), so a console-error check in a
// browser sees nothing unless something is broken.
export const APP_CSS = `
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2328;background:#f6f8fa}
header{background:#24292f}
nav{display:flex;gap:1rem;align-items:center;max-width:960px;margin:0 auto;padding:.75rem 1rem}
nav a,nav button{color:#fff;text-decoration:none;background:none;border:0;font:inherit;cursor:pointer;padding:0}
nav .brand{font-weight:700;margin-right:auto}
main{max-width:960px;margin:0 auto;padding:2rem 1rem}
form{display:grid;gap:.75rem;max-width:420px;background:#fff;padding:1.25rem;border:1px solid #d0d7de;border-radius:8px}
label{display:grid;gap:.25rem;font-weight:600}
input,textarea,select{font:inherit;padding:.5rem;border:1px solid #d0d7de;border-radius:6px}
button.primary,a.primary{background:#1f883d;color:#fff;border:0;border-radius:6px;padding:.6rem 1rem;font:inherit;font-weight:600;cursor:pointer;text-decoration:none;display:inline-block}
.error{color:#cf222e;min-height:1.5em}
.notice{color:#1a7f37;min-height:1.5em}
ul.cards{list-style:none;padding:0;display:grid;gap:.5rem}
ul.cards li{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:.75rem 1rem}
.swatch{display:inline-block;width:1.25rem;height:1.25rem;border-radius:4px;border:1px solid #0002;vertical-align:middle;margin-right:.25rem}
.status{font-weight:700;text-transform:uppercase}
progress{width:100%}
`;

export const APP_JS = `
(function () {
  'use strict';
  var TOKEN_COOKIE = 'sample_app_token';

  function getCookie(name) {
    var parts = document.cookie ? document.cookie.split('; ') : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf('=');
      if (parts[i].slice(0, eq) === name) return decodeURIComponent(parts[i].slice(eq + 1));
    }
    return null;
  }
  function setToken(token, maxAgeSec) {
    document.cookie = TOKEN_COOKIE + '=' + encodeURIComponent(token) + '; Path=/; Max-Age=' + maxAgeSec + '; SameSite=Lax';
  }
  function clearToken() {
    document.cookie = TOKEN_COOKIE + '=; Path=/; Max-Age=0; SameSite=Lax';
  }
  async function api(method, path, body) {
    var headers = { Accept: 'application/json' };
    var token = getCookie(TOKEN_COOKIE);
    if (token) headers.Authorization = 'Bearer ' + token;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    var res = await fetch(path, { method: method, headers: headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
    var data = null;
    if (res.status !== 204) { try { data = await res.json(); } catch (e) { data = null; } }
    return { ok: res.ok, status: res.status, data: data };
  }
  function byTestId(id) { return document.querySelector('[data-testid="' + id + '"]'); }
  function message(result) {
    if (result.data && result.data.fields && result.data.fields.length) {
      return result.data.fields.map(function (f) { return f.field + ': ' + f.message; }).join('; ');
    }
    return (result.data && result.data.message) || ('Request failed (' + result.status + ')');
  }
  function safeNext(raw) {
    return raw && raw.charAt(0) === '/' && raw.charAt(1) !== '/' && raw.charAt(1) !== '\\\\' ? raw : '/dashboard';
  }
  function formValues(form) {
    var values = {};
    new FormData(form).forEach(function (v, k) { values[k] = String(v); });
    return values;
  }
  function onSubmit(testId, handler) {
    var form = byTestId(testId);
    if (!form) return;
    form.addEventListener('submit', async function (event) {
      event.preventDefault();
      var error = form.querySelector('.error');
      if (error) error.textContent = '';
      var button = form.querySelector('button[type="submit"]');
      if (button) button.disabled = true;
      try { await handler(form, formValues(form), error); }
      finally { if (button) button.disabled = false; }
    });
  }
  function signIn(data) {
    setToken(data.accessToken, data.expiresIn);
    try { localStorage.setItem('sample_app_refresh', data.refreshToken); } catch (e) { /* private mode */ }
  }

  var pages = {
    login: function () {
      onSubmit('login-form', async function (form, v, error) {
        var result = await api('POST', '/auth/login', { email: v.email, password: v.password });
        if (!result.ok) { error.textContent = message(result); return; }
        signIn(result.data);
        location.assign(safeNext(new URLSearchParams(location.search).get('next')));
      });
    },
    signup: function () {
      onSubmit('signup-form', async function (form, v, error) {
        var body = { email: v.email, password: v.password };
        if (v.name) body.name = v.name;
        var result = await api('POST', '/auth/signup', body);
        if (!result.ok) { error.textContent = message(result); return; }
        signIn(result.data);
        location.assign('/dashboard');
      });
    },
    'forgot-password': function () {
      onSubmit('forgot-form', async function (form, v, error) {
        var result = await api('POST', '/auth/forgot-password', { email: v.email });
        if (!result.ok) { error.textContent = message(result); return; }
        byTestId('forgot-notice').textContent = 'If this account exists, a reset link is on its way.';
      });
    },
    'reset-password': function () {
      onSubmit('reset-form', async function (form, v, error) {
        var result = await api('POST', '/auth/reset-password', { token: v.token, password: v.password });
        if (!result.ok) { error.textContent = message(result); return; }
        byTestId('reset-notice').textContent = 'Password changed. You can log in now.';
      });
    },
    dashboard: function () {
      onSubmit('job-form', async function (form, v, error) {
        var body = { prompt: v.prompt };
        if (v.brandKitId) body.brandKitId = v.brandKitId;
        var result = await api('POST', '/jobs', body);
        if (!result.ok) { error.textContent = message(result); return; }
        location.assign('/dashboard/jobs/' + result.data.id);
      });
    },
    'brand-kits': function () {
      onSubmit('kit-form', async function (form, v, error) {
        var colors = (v.colors || '').split(',').map(function (c) { return c.trim(); }).filter(Boolean);
        var result = await api('POST', '/brand-kits', { name: v.name, colors: colors });
        if (!result.ok) { error.textContent = message(result); return; }
        location.assign('/dashboard/brand-kits/' + result.data.id);
      });
    },
    'brand-kit-editor': function () {
      var id = document.body.getAttribute('data-kit-id');
      onSubmit('kit-editor', async function (form, v, error) {
        var colors = Array.prototype.map.call(form.querySelectorAll('input[type="color"]'), function (i) { return i.value; });
        var result = await api('PATCH', '/brand-kits/' + id, { name: v.name, colors: colors });
        if (!result.ok) { error.textContent = message(result); return; }
        byTestId('kit-saved').textContent = 'Saved';
      });
      var add = byTestId('kit-add-color');
      if (add) add.addEventListener('click', function () {
        var input = document.createElement('input');
        input.type = 'color'; input.value = '#000000'; input.setAttribute('data-testid', 'kit-color');
        byTestId('kit-colors').appendChild(input);
      });
      var del = byTestId('kit-delete');
      if (del) del.addEventListener('click', async function () {
        var result = await api('DELETE', '/brand-kits/' + id);
        if (result.ok) location.assign('/dashboard/brand-kits');
      });
    },
    job: function () {
      var id = document.body.getAttribute('data-job-id');
      var status = byTestId('job-status');
      var progress = byTestId('job-progress');
      var steps = { queued: 1, running: 2, completed: 3, failed: 3 };
      async function poll() {
        var result = await api('GET', '/jobs/' + id);
        if (!result.ok) { status.textContent = 'error'; return; }
        var job = result.data;
        status.textContent = job.status;
        progress.value = steps[job.status] || 0;
        if (job.status === 'completed') {
          var list = byTestId('job-assets');
          list.innerHTML = '';
          (job.assetIds || []).forEach(function (assetId) {
            var li = document.createElement('li');
            var a = document.createElement('a');
            a.href = '/public/assets/' + assetId + '/content';
            a.textContent = 'Asset ' + assetId.slice(0, 8);
            a.setAttribute('data-testid', 'asset-link');
            li.appendChild(a);
            list.appendChild(li);
          });
          return;
        }
        if (job.status !== 'failed') setTimeout(poll, 250);
      }
      if (status.textContent !== 'completed') setTimeout(poll, 250);
    }
  };

  var logout = byTestId('logout');
  if (logout) logout.addEventListener('click', async function () {
    await api('POST', '/auth/logout');
    clearToken();
    try { localStorage.removeItem('sample_app_refresh'); } catch (e) { /* ignore */ }
    location.assign('/');
  });

  var page = document.body.getAttribute('data-page');
  if (pages[page]) pages[page]();
})();
`;
