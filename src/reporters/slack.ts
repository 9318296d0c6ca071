/**
 * A verdict as a Slack incoming-webhook payload: `text` (the notification line, also the
 * fallback where blocks are not shown) and Block Kit `blocks` summarising the status,
 * reasons, phases, failed checks and gates.
 *
 * Slack limits respected here: header text ≤ 150 chars, section text ≤ 3000, ≤ 10 fields,
 * ≤ 50 blocks. Verdict text is redacted, then escaped for mrkdwn (&, <, > are control
 * characters there: `<url|label>` would otherwise render attacker-chosen links).
 */
import type { Redactor } from '../redact/redact.ts';
import type { Verdict } from '../run/verdict.ts';
import { checkText } from './k6-text.ts';
import {
  countChecks,
  countPhases,
  countsText,
  evidenceLine,
  failedChecks,
  flakyChecks,
  formatMs,
  gateText,
  mostUsefulEvidence,
  oneLine,
  phaseNote,
  round,
} from './summarize.ts';
import { redactVerdict } from './redact-verdict.ts';

export interface SlackPayload {
  text: string;
  blocks: SlackBlock[];
}

type Mrkdwn = { type: 'mrkdwn'; text: string };
export type SlackBlock =
  | { type: 'header'; text: { type: 'plain_text'; text: string; emoji: true } }
  | { type: 'section'; text: Mrkdwn }
  | { type: 'section'; fields: Mrkdwn[] }
  | { type: 'context'; elements: Mrkdwn[] }
  | { type: 'divider' };

const EMOJI: Record<string, string> = {
  passed: ':white_check_mark:',
  failed: ':x:',
  timedout: ':hourglass:',
  interrupted: ':warning:',
  invalid: ':x:',
  flaky: ':large_yellow_circle:',
  skipped: ':fast_forward:',
  'not-run': ':fast_forward:',
  'insufficient-data': ':grey_question:',
};

const SECTION_MAX = 3000;

export function renderSlackPayload(verdict: Verdict, redactor: Redactor): SlackPayload {
  const v = redactVerdict(verdict, redactor);
  const t = (s: string) => esc(redactor.redactString(s));
  const checks = countChecks(v);
  const phases = countPhases(v);
  const failed = failedChecks(v);
  const status = v.status.toUpperCase();

  const headline = [`perf ${status}`, `run ${v.runId}`, formatMs(v.durationMs)];
  if (failed.length) headline.push(`${failed.length} failed check${failed.length === 1 ? '' : 's'}`);
  else if (v.reasons[0]) headline.push(oneLine(v.reasons[0], 150));
  const text = t(headline.join(' · '));

  const blocks: SlackBlock[] = [{ type: 'header', text: { type: 'plain_text', text: cut(`perf: ${status}`, 150), emoji: true } }];

  const fields: Mrkdwn[] = [
    { type: 'mrkdwn', text: `*Status*\n${EMOJI[v.status] ?? ''} ${status}` },
    { type: 'mrkdwn', text: `*Run*\n\`${t(v.runId)}\`` },
    { type: 'mrkdwn', text: `*Duration*\n${formatMs(v.durationMs)}` },
    { type: 'mrkdwn', text: `*Phases*\n${countsText(phases)}` },
  ];
  if (checks.total) fields.push({ type: 'mrkdwn', text: `*Checks*\n${countsText(checks)}` });
  if (v.manifest.users !== undefined) fields.push({ type: 'mrkdwn', text: `*Users*\n${v.manifest.users}` });
  if (v.manifest.gitSha) fields.push({ type: 'mrkdwn', text: `*Commit*\n\`${t(v.manifest.gitSha.slice(0, 12))}\`` });
  blocks.push({ type: 'section', fields });

  if (v.reasons.length) blocks.push(section(`*Why*\n${v.reasons.map((r) => `• ${t(oneLine(r, 300))}`).join('\n')}`));

  const phaseLines = v.phases.map((p) => {
    const note = phaseNote(p);
    return `${EMOJI[p.status] ?? ''} *${t(p.name)}* ${formatMs(p.durationMs)}${note ? ` — ${t(oneLine(note, 200))}` : ''}`;
  });
  if (phaseLines.length) blocks.push(section(`*Phases*\n${phaseLines.join('\n')}`));

  if (failed.length) {
    const lines = failed.map(({ phase, check }) => {
      const ev = mostUsefulEvidence(check.evidence);
      const first = `• *${t(phase)} / ${t(check.name)}* (${check.status}): ${t(oneLine(check.error ?? check.status, 300))}`;
      return ev ? `${first}\n    \`${t(oneLine(evidenceLine(ev), 250)).replace(/`/g, "'")}\`` : first;
    });
    blocks.push(section(`*Failed checks*\n${lines.join('\n')}`));
  }

  const flaky = flakyChecks(v);
  if (flaky.length) {
    blocks.push(section(`*Flaky checks*\n${flaky.map(({ phase, check }) => `• ${t(phase)} / ${t(check.name)} (passed on attempt ${check.attempts})`).join('\n')}`));
  }

  const gateLines = (v.gates ?? []).map((g) => `${EMOJI[g.status] ?? ''} ${t(gateText(g))}`);
  for (const p of v.phases) {
    for (const k of p.k6 ?? []) {
      for (const th of k.thresholds) {
        const obs = th.observed !== undefined ? ` (observed ${round(th.observed)})` : '';
        gateLines.push(`${th.passed && !th.noData ? EMOJI.passed : EMOJI.failed} ${t(`${k.scenario}: ${th.metric} ${th.expression}${th.noData ? ' (no data)' : obs}`)}`);
      }
      // k6 checks that fail the run (every check is in the verdict, the console and JUnit).
      for (const c of (k.checks ?? []).filter((c) => c.status === 'failed')) gateLines.push(`${EMOJI.failed} ${t(`${k.scenario}: ${checkText(c)}`)}`);
    }
  }
  if (gateLines.length) blocks.push(section(`*Gates*\n${gateLines.join('\n')}`));

  const m = v.manifest;
  const context = [`perf ${m.perfVersion}`, `node ${m.nodeVersion}`];
  if (m.k6Version) context.push(`k6 ${m.k6Version}`);
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: t(context.join(' · ')) }] });

  return { text, blocks: blocks.slice(0, 50) };
}

function section(text: string): SlackBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: cut(text, SECTION_MAX) } };
}

function cut(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** Slack's three mrkdwn control characters. */
function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
