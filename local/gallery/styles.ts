/**
 * The preview's only style sheet, inlined in every page: no fonts, scripts or images are fetched from anywhere. The
 * Content-Security-Policy allows exactly this sheet by its hash, so a style smuggled into catalog text is not applied.
 */
import { createHash } from 'crypto';

export const GALLERY_CSS = `
*, *::before, *::after { box-sizing: border-box; }
html { font-family: "Amazon Ember", "Helvetica Neue", "Liberation Sans", Roboto, Arial, sans-serif; color: #16191f; background: #f2f3f3; }
body { margin: 0; font-size: 14px; line-height: 1.5; overflow-wrap: anywhere; }
a { color: #0073bb; text-decoration: none; }
a:hover { text-decoration: underline; }
code, pre { font-family: "Liberation Mono", "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 13px; }
.topbar { background: #232f3e; color: #fff; padding: 10px 24px; display: flex; align-items: center; gap: 16px; }
.topbar .brand { color: #fff; font-weight: 700; font-size: 16px; }
.topbar .brand span { color: #ff9900; }
.topbar .preview { margin-left: auto; font-size: 12px; color: #d5dbdb; border: 1px solid #545b64; border-radius: 12px; padding: 2px 10px; }
main { max-width: 1180px; margin: 0 auto; padding: 20px 24px 40px; }
.crumbs { font-size: 13px; color: #545b64; margin-bottom: 12px; }
.panel { background: #fff; border-radius: 8px; box-shadow: 0 1px 1px 0 rgba(0,28,36,.3), 1px 1px 1px 0 rgba(0,28,36,.15); padding: 20px 24px; margin-bottom: 20px; }
.hero { display: flex; gap: 20px; align-items: flex-start; }
.logo { width: 96px; height: 96px; flex: none; border: 1px solid #eaeded; border-radius: 8px; object-fit: contain; background: #fff; }
.logo.small { width: 56px; height: 56px; }
.logo.none { display: flex; align-items: center; justify-content: center; font-size: 36px; font-weight: 700; color: #879596; background: #fafafa; }
.logo.small.none { font-size: 22px; }
h1 { font-size: 28px; font-weight: 700; margin: 0 0 2px; line-height: 1.25; }
.by { color: #545b64; margin: 0 0 8px; }
.description { margin: 0 0 12px; font-size: 15px; }
.badges { display: flex; flex-wrap: wrap; gap: 6px; margin: 0; padding: 0; list-style: none; }
.badge { display: inline-block; border-radius: 12px; padding: 1px 10px; font-size: 12px; font-weight: 700; }
.badge.os { background: #e9f3fb; color: #0a4a74; border: 1px solid #99cbe4; }
.badge.arch { background: #f2f8f0; color: #1d8102; border: 1px solid #a6d99a; }
.badge.unknown { background: #fff; color: #8d6605; border: 1px dashed #d4a72c; font-weight: 400; }
.layout { display: grid; grid-template-columns: minmax(0, 1fr) 340px; gap: 20px; align-items: start; }
.tabs { display: flex; gap: 4px; border-bottom: 1px solid #eaeded; margin: -4px 0 16px; }
.tabs a { padding: 8px 14px; color: #545b64; font-weight: 700; border-bottom: 3px solid transparent; }
.tabs a:first-child { color: #16191f; border-bottom-color: #ec7211; }
h2 { font-size: 18px; margin: 0 0 12px; }
section > h2.label { font-size: 12px; text-transform: uppercase; letter-spacing: .06em; color: #687078; margin: 20px 0 4px; padding-top: 12px; border-top: 1px solid #eaeded; }
section:first-of-type > h2.label { border-top: none; padding-top: 0; margin-top: 0; }
.markdown { max-width: 100%; overflow: hidden; }
.markdown h1 { font-size: 22px; } .markdown h2 { font-size: 18px; } .markdown h3 { font-size: 16px; }
.markdown h1, .markdown h2, .markdown h3, .markdown h4 { margin: 16px 0 8px; }
.markdown pre { background: #f2f3f3; border-radius: 4px; padding: 12px; overflow-x: auto; white-space: pre; overflow-wrap: normal; }
.markdown :not(pre) > code { background: #f2f3f3; border-radius: 3px; padding: 1px 4px; }
.markdown table { border-collapse: collapse; display: block; overflow-x: auto; }
.markdown th, .markdown td { border: 1px solid #d5dbdb; padding: 4px 8px; }
.markdown blockquote { margin: 0 0 12px; padding: 0 12px; border-left: 4px solid #d5dbdb; color: #545b64; }
.markdown :is(ul, ol, blockquote) :is(ul, ol, blockquote) :is(ul, ol, blockquote) :is(ul, ol, blockquote) :is(ul, ol, blockquote) { padding-left: 8px; margin-left: 0; }
.markdown .md-image { border: 1px dashed #aab7b8; border-radius: 4px; padding: 0 6px; color: #545b64; }
.empty, .note { color: #687078; font-style: italic; }
.pull pre { background: #16191f; color: #fff; border-radius: 4px; padding: 10px 12px; margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.pull p { margin: 8px 0 0; color: #545b64; font-size: 12px; }
.side h3 { font-size: 14px; margin: 0 0 8px; }
.side section + section { margin-top: 16px; }
.side dl { margin: 0; } .side dt { color: #545b64; font-size: 12px; } .side dd { margin: 0 0 8px; }
table.tags { width: 100%; border-collapse: collapse; }
table.tags th { white-space: nowrap; text-align: left; font-size: 12px; color: #545b64; border-bottom: 1px solid #eaeded; padding: 6px 8px; }
table.tags td { border-bottom: 1px solid #eaeded; padding: 8px; vertical-align: top; font-size: 13px; }
table.tags td.digest, table.tags td.size, table.tags td.pushed, table.tags td.type { white-space: nowrap; }
table.tags tr.referrers td { padding-top: 0; font-size: 12px; color: #545b64; }
table.tags tr.referrers ul { list-style: none; margin: 4px 0 0 16px; padding: 0; }
table.tags tr.referrers li { display: flex; flex-wrap: wrap; gap: 12px; padding: 2px 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); gap: 16px; margin: 0; padding: 0; list-style: none; }
.card { display: flex; gap: 14px; background: #fff; border-radius: 8px; padding: 16px; box-shadow: 0 1px 1px 0 rgba(0,28,36,.3), 1px 1px 1px 0 rgba(0,28,36,.15); }
.card h2 { font-size: 16px; margin: 0 0 4px; }
.card p { margin: 0 0 8px; color: #545b64; }
footer { max-width: 1180px; margin: 0 auto; padding: 0 24px 24px; color: #687078; font-size: 12px; }
@media (max-width: 860px) { .layout { grid-template-columns: minmax(0, 1fr); } }
@media (max-width: 640px) {
  main { padding: 12px 12px 32px; }
  .panel { padding: 16px; }
  .hero { flex-direction: column; gap: 12px; }
  /* The tag table becomes one block per tag, each cell labelled: five columns do not fit a phone's width. */
  table.tags thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); }
  table.tags, table.tags tbody, table.tags tr, table.tags td { display: block; width: 100%; }
  table.tags tr { border-bottom: 1px solid #eaeded; padding: 6px 0; }
  table.tags td { border: none; padding: 2px 0; display: flex; gap: 8px; }
  table.tags td::before { content: attr(data-label); flex: none; width: 88px; color: #545b64; font-size: 12px; }
  /* A tag's referrers carry their own label: one block under the tag's cells. */
  table.tags tr.referrers { border-top: none; margin-top: -6px; }
  table.tags tr.referrers td { display: block; }
  table.tags tr.referrers td::before { content: none; }
  table.tags tr.referrers ul { margin-left: 8px; }
}
`;

/**
 * The page icon, inline: without one the browser asks the emulator for `/favicon.ico`, which it does not serve.
 */
export const GALLERY_ICON = `data:image/svg+xml,${encodeURIComponent(
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#ff9900"/></svg>')}`;

/** The CSP source that allows `GALLERY_CSS` in a `<style>` element and nothing else. */
export const GALLERY_CSS_SOURCE = `'sha256-${createHash('sha256').update(GALLERY_CSS).digest('base64')}'`;
