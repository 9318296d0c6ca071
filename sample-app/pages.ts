// The web pages (server-rendered HTML + /static/app.js), for perf's front-end phases.
//
//   /                         landing: <nav>, CTA link to /signup (data-testid="cta")
//   /login, /signup           forms; on success the script stores the access token in the
//                             `sample_app_token` cookie and goes to ?next= (or /dashboard)
//   /forgot-password          form → POST /auth/forgot-password (the link lands in the admin mailbox)
//   /reset-password?token=    form → POST /auth/reset-password
//   /dashboard                kits, recent jobs, "new job" form
//   /dashboard/brand-kits     list + create form
//   /dashboard/brand-kits/:id editor (name, colours), 404 page for unknown/foreign ids
//   /dashboard/jobs/:id       status with progress, polled until completed, then asset links
//   anything else             404 page (HTML for browsers, JSON for API clients)
// Dashboard pages answer 302 → /login?next=<path> without a live session (cookie or Bearer).
// Key elements carry data-testid attributes (listed in README.md).
// Faults: `slowPageMs` delays every HTML answer; `brokenPageScript` adds a script that throws; `dashboardNoRedirect` renders dashboard
// pages for signed-out visitors. Pages are exempt from the latency and error faults.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from './context.ts';
import { BRAND_KIT_COLUMNS, JOB_COLUMNS, isUuid, type BrandKitRow, type JobRow } from './db.ts';
import { errorBody } from './errors.ts';
import { APP_CSS, APP_JS } from './pages-static.ts';
import { tokenFromHeaders, type AuthUser } from './tokens.ts';

export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

interface PageOptions {
  title: string;
  page: string;
  body: string;
  user?: { email: string } | null;
  attrs?: Record<string, string>;
}

function layout(ctx: AppContext, o: PageOptions): string {
  const attrs = Object.entries(o.attrs ?? {})
    .map(([k, v]) => ` ${k}="${escapeHtml(v)}"`)
    .join('');
  const account = o.user
    ? `<a href="/dashboard" data-testid="nav-dashboard">Dashboard</a><a href="/dashboard/brand-kits" data-testid="nav-brand-kits">Brand kits</a><span data-testid="nav-user">${escapeHtml(o.user.email)}</span><button type="button" data-testid="logout">Log out</button>`
    : `<a href="/login" data-testid="nav-login">Log in</a><a href="/signup" data-testid="nav-signup">Sign up</a>`;
  // FAULT brokenPageScript: an inline script that throws before the page script runs.
  const broken = ctx.faults.current.brokenPageScript
    ? `<script data-fault="brokenPageScript">window.__sampleAppFault = 'brokenPageScript'; throw new Error('sample-app fault brokenPageScript: page script crashed');</script>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(o.title)} · Sample App</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/app.css">
</head>
<body data-page="${escapeHtml(o.page)}"${attrs}>
<header><nav data-testid="nav" aria-label="Main"><a class="brand" href="/" data-testid="nav-home">Sample App</a>${account}</nav></header>
<main data-testid="page-${escapeHtml(o.page)}">
${o.body}
</main>
${broken}<script src="/static/app.js" defer></script>
</body>
</html>`;
}

function html(reply: FastifyReply, status: number, page: string): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(page);
}

const swatches = (colors: string[]) => colors.map((c) => `<span class="swatch" style="background:${escapeHtml(c)}" title="${escapeHtml(c)}"></span>`).join('');

export function notFoundPage(ctx: AppContext, user: { email: string } | null = null): string {
  return layout(ctx, {
    title: 'Not found',
    page: 'not-found',
    user,
    body: `<h1 data-testid="not-found">Page not found</h1><p>There is nothing here. <a href="/" data-testid="not-found-home">Back to the start page</a>.</p>`,
  });
}

export function registerPages(app: FastifyInstance, ctx: AppContext): void {
  /** The signed-in user of a page request, or null. */
  const pageUser = async (request: FastifyRequest): Promise<(AuthUser & { email: string }) | null> => {
    const auth = await ctx.tokens.authenticateToken(tokenFromHeaders(request.headers));
    if (!auth) return null;
    const { rows } = await ctx.pool.query<{ email: string }>('SELECT email FROM users WHERE id = $1', [auth.userId]);
    return rows[0] ? { ...auth, email: rows[0].email } : null;
  };

  /** A dashboard page's user; null after sending the redirect to /login. */
  const dashboardUser = async (request: FastifyRequest, reply: FastifyReply) => {
    const user = await pageUser(request);
    if (user || ctx.faults.current.dashboardNoRedirect) return { user, redirected: false };
    void reply.code(302).header('location', `/login?next=${encodeURIComponent(request.url)}`).header('cache-control', 'no-store').send();
    return { user: null, redirected: true };
  };

  // FAULT slowPageMs: every HTML answer waits before it is sent (callback hook: the check is
  // one field read on every other request).
  app.addHook('onSend', (_request, reply, payload, done) => {
    const ms = ctx.faults.current.slowPageMs;
    if (ms > 0 && String(reply.getHeader('content-type') ?? '').startsWith('text/html')) setTimeout(() => done(null, payload), ms);
    else done(null, payload);
  });

  app.get('/static/app.js', async (_req, reply) => reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(APP_JS));
  app.get('/static/app.css', async (_req, reply) => reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send(APP_CSS));
  app.get('/favicon.ico', async (_req, reply) => reply.code(204).header('cache-control', 'public, max-age=86400').send());

  app.get('/', async (request, reply) => {
    const user = await pageUser(request);
    return html(
      reply,
      200,
      layout(ctx, {
        title: 'Brand assets in seconds',
        page: 'landing',
        user,
        body: `<section data-testid="hero">
<h1 data-testid="hero-title">Brand assets in seconds</h1>
<p>Keep your colours and fonts in brand kits, describe what you need, and let the agent generate it.</p>
<p><a class="primary" href="/signup" data-testid="cta">Get started free</a></p>
</section>
<section data-testid="features"><h2>How it works</h2><ol><li>Create a brand kit</li><li>Describe an asset</li><li>Download the result</li></ol></section>`,
      }),
    );
  });

  app.get('/login', async (_request, reply) =>
    html(
      reply,
      200,
      layout(ctx, {
        title: 'Log in',
        page: 'login',
        body: `<h1>Log in</h1>
<form data-testid="login-form" novalidate>
<label>E-mail <input name="email" type="email" autocomplete="username" required data-testid="login-email"></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required data-testid="login-password"></label>
<button class="primary" type="submit" data-testid="login-submit">Log in</button>
<p class="error" role="alert" data-testid="login-error"></p>
</form>
<p><a href="/forgot-password" data-testid="forgot-link">Forgot your password?</a> · <a href="/signup" data-testid="signup-link">Create an account</a></p>`,
      }),
    ),
  );

  app.get('/signup', async (_request, reply) =>
    html(
      reply,
      200,
      layout(ctx, {
        title: 'Sign up',
        page: 'signup',
        body: `<h1>Create your account</h1>
<form data-testid="signup-form" novalidate>
<label>Name <input name="name" autocomplete="name" data-testid="signup-name"></label>
<label>E-mail <input name="email" type="email" autocomplete="email" required data-testid="signup-email"></label>
<label>Password (8+ characters) <input name="password" type="password" autocomplete="new-password" minlength="8" required data-testid="signup-password"></label>
<button class="primary" type="submit" data-testid="signup-submit">Sign up</button>
<p class="error" role="alert" data-testid="signup-error"></p>
</form>
<p>Already registered? <a href="/login" data-testid="login-link">Log in</a></p>`,
      }),
    ),
  );

  app.get('/forgot-password', async (_request, reply) =>
    html(
      reply,
      200,
      layout(ctx, {
        title: 'Forgot password',
        page: 'forgot-password',
        body: `<h1>Forgot your password?</h1>
<form data-testid="forgot-form" novalidate>
<label>E-mail <input name="email" type="email" required data-testid="forgot-email"></label>
<button class="primary" type="submit" data-testid="forgot-submit">Send reset link</button>
<p class="error" role="alert" data-testid="forgot-error"></p>
<p class="notice" role="status" data-testid="forgot-notice"></p>
</form>`,
      }),
    ),
  );

  app.get<{ Querystring: { token?: string } }>('/reset-password', async (request, reply) =>
    html(
      reply,
      200,
      layout(ctx, {
        title: 'Reset password',
        page: 'reset-password',
        body: `<h1>Choose a new password</h1>
<form data-testid="reset-form" novalidate>
<input type="hidden" name="token" value="${escapeHtml(request.query.token ?? '')}" data-testid="reset-token">
<label>New password (8+ characters) <input name="password" type="password" autocomplete="new-password" minlength="8" required data-testid="reset-password"></label>
<button class="primary" type="submit" data-testid="reset-submit">Change password</button>
<p class="error" role="alert" data-testid="reset-error"></p>
<p class="notice" role="status" data-testid="reset-notice"></p>
</form>
<p><a href="/login" data-testid="login-link">Back to log in</a></p>`,
      }),
    ),
  );

  app.get('/dashboard', async (request, reply) => {
    const { user, redirected } = await dashboardUser(request, reply);
    if (redirected) return reply;
    const [kits, jobs] = user
      ? await Promise.all([
          ctx.pool.query<BrandKitRow>(`SELECT ${BRAND_KIT_COLUMNS} FROM brand_kits WHERE user_id = $1 ORDER BY created_at, id`, [user.userId]),
          ctx.pool.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE user_id = $1 ORDER BY created_at DESC, id LIMIT 10`, [user.userId]),
        ])
      : [{ rows: [] as BrandKitRow[] }, { rows: [] as JobRow[] }];
    const kitOptions = kits.rows.map((k) => `<option value="${escapeHtml(k.id)}">${escapeHtml(k.name)}</option>`).join('');
    return html(
      reply,
      200,
      layout(ctx, {
        title: 'Dashboard',
        page: 'dashboard',
        user,
        body: `<h1 data-testid="dashboard-title">Dashboard</h1>
<p data-testid="dashboard-user">${user ? `Signed in as ${escapeHtml(user.email)}` : 'Not signed in'}</p>
<section><h2>New generation job</h2>
<form data-testid="job-form" novalidate>
<label>Prompt <textarea name="prompt" required data-testid="job-prompt">A launch banner</textarea></label>
<label>Brand kit <select name="brandKitId" data-testid="job-kit"><option value="">(none)</option>${kitOptions}</select></label>
<button class="primary" type="submit" data-testid="job-submit">Generate</button>
<p class="error" role="alert" data-testid="job-error"></p>
</form></section>
<section><h2>Brand kits (${kits.rows.length}) · <a href="/dashboard/brand-kits" data-testid="manage-kits">manage</a></h2>
<ul class="cards" data-testid="kit-list">${kits.rows
          .map((k) => `<li data-testid="kit-item"><a href="/dashboard/brand-kits/${escapeHtml(k.id)}">${escapeHtml(k.name)}</a> ${swatches(k.colors)}</li>`)
          .join('')}</ul></section>
<section><h2>Recent jobs</h2>
<ul class="cards" data-testid="job-list">${jobs.rows
          .map((j) => `<li data-testid="job-item"><a href="/dashboard/jobs/${escapeHtml(j.id)}">${escapeHtml(j.prompt.slice(0, 60))}</a> <span class="status">${escapeHtml(j.status)}</span></li>`)
          .join('')}</ul></section>`,
      }),
    );
  });

  app.get('/dashboard/brand-kits', async (request, reply) => {
    const { user, redirected } = await dashboardUser(request, reply);
    if (redirected) return reply;
    const kits = user
      ? (await ctx.pool.query<BrandKitRow>(`SELECT ${BRAND_KIT_COLUMNS} FROM brand_kits WHERE user_id = $1 ORDER BY created_at, id`, [user.userId])).rows
      : [];
    return html(
      reply,
      200,
      layout(ctx, {
        title: 'Brand kits',
        page: 'brand-kits',
        user,
        body: `<h1>Brand kits</h1>
<ul class="cards" data-testid="kit-list">${kits
          .map(
            (k) =>
              `<li data-testid="kit-item"><a href="/dashboard/brand-kits/${escapeHtml(k.id)}" data-testid="kit-link">${escapeHtml(k.name)}</a> ${swatches(k.colors)}</li>`,
          )
          .join('')}</ul>
<h2>New brand kit</h2>
<form data-testid="kit-form" novalidate>
<label>Name <input name="name" required maxlength="100" data-testid="kit-name"></label>
<label>Colours (comma-separated, #RRGGBB) <input name="colors" placeholder="#1f6feb, #f78166" data-testid="kit-colors-input"></label>
<button class="primary" type="submit" data-testid="kit-submit">Create</button>
<p class="error" role="alert" data-testid="kit-error"></p>
</form>`,
      }),
    );
  });

  app.get<{ Params: { id: string } }>('/dashboard/brand-kits/:id', async (request, reply) => {
    const { user, redirected } = await dashboardUser(request, reply);
    if (redirected) return reply;
    const kit =
      user && isUuid(request.params.id)
        ? (await ctx.pool.query<BrandKitRow>(`SELECT ${BRAND_KIT_COLUMNS} FROM brand_kits WHERE id = $1 AND user_id = $2`, [request.params.id, user.userId])).rows[0]
        : undefined;
    if (!kit) return html(reply, 404, notFoundPage(ctx, user));
    return html(
      reply,
      200,
      layout(ctx, {
        title: `Edit ${kit.name}`,
        page: 'brand-kit-editor',
        user,
        attrs: { 'data-kit-id': kit.id },
        body: `<h1>Edit brand kit</h1>
<form data-testid="kit-editor" novalidate>
<label>Name <input name="name" required maxlength="100" value="${escapeHtml(kit.name)}" data-testid="kit-name"></label>
<fieldset data-testid="kit-colors"><legend>Colours</legend>${kit.colors
          .map((c) => `<input type="color" value="${escapeHtml(c.toLowerCase())}" data-testid="kit-color">`)
          .join('')}</fieldset>
<button type="button" data-testid="kit-add-color">Add colour</button>
<button class="primary" type="submit" data-testid="kit-save">Save</button>
<p class="notice" role="status" data-testid="kit-saved"></p>
<p class="error" role="alert" data-testid="kit-error"></p>
</form>
<p><button type="button" data-testid="kit-delete">Delete this kit</button> · <a href="/dashboard/brand-kits">All kits</a></p>`,
      }),
    );
  });

  app.get<{ Params: { id: string } }>('/dashboard/jobs/:id', async (request, reply) => {
    const { user, redirected } = await dashboardUser(request, reply);
    if (redirected) return reply;
    const job =
      user && isUuid(request.params.id)
        ? (
            await ctx.pool.query<JobRow>(
              `SELECT ${JOB_COLUMNS}, (SELECT array_agg(a.id ORDER BY a.kind) FROM assets a WHERE a.job_id = jobs.id) AS asset_ids
               FROM jobs WHERE id = $1 AND user_id = $2`,
              [request.params.id, user.userId],
            )
          ).rows[0]
        : undefined;
    if (!job) return html(reply, 404, notFoundPage(ctx, user));
    const step = { queued: 1, running: 2, completed: 3, failed: 3 }[job.status];
    const assets = job.status === 'completed' ? (job.asset_ids ?? []) : [];
    return html(
      reply,
      200,
      layout(ctx, {
        title: 'Job',
        page: 'job',
        user,
        attrs: { 'data-job-id': job.id },
        body: `<h1>Generation job</h1>
<p data-testid="job-prompt-text">${escapeHtml(job.prompt)}</p>
<p>Status: <span class="status" data-testid="job-status">${escapeHtml(job.status)}</span></p>
<progress max="3" value="${step}" data-testid="job-progress"></progress>
<ul class="cards" data-testid="job-assets">${assets
          .map((id) => `<li><a href="/public/assets/${escapeHtml(id)}/content" data-testid="asset-link">Asset ${escapeHtml(id.slice(0, 8))}</a></li>`)
          .join('')}</ul>`,
      }),
    );
  });

  // Unknown paths: an HTML page for browsers, JSON for API clients.
  app.setNotFoundHandler(async (request, reply) => {
    if ((request.headers.accept ?? '').includes('text/html')) return html(reply, 404, notFoundPage(ctx));
    return reply.code(404).send(errorBody(request, 'not_found', `no route for ${request.method} ${request.url.split('?')[0]}`));
  });
}
