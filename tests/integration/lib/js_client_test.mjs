// js_client_test.mjs — clients/js/vmsd.js under node, against a running
// vmsd (tests/integration/js-client.sh starts it): the manual page's
// worked example, canonical JSON against jansson's, a signed RSVP that
// writes /rsvps/<caller id>.json and is confirmed in the signed tree, a
// refused replay, a request refused for another contract, the stale-nonce
// re-sign, and vmsctl's identity file. Prints PASS/FAIL lines.
//
//   node js_client_test.mjs TOP URL VKEY VMSCTL_IDENTITY_FILE VMSCTL_ID
import { readFileSync } from 'node:fs';
import { createHash, webcrypto } from 'node:crypto';

const [TOP, URL, VKEY, IDFILE, VMSCTL_ID] = process.argv.slice(2);
const crypto = globalThis.crypto || webcrypto;
const m = await import(TOP + '/clients/js/vmsd.js');
const { Client, Identity, VmsdError, canonicalJSON, callMessage, b64url, fromB64url } = m;

let failed = 0;
async function test(name, fn) {
  try {
    await fn();
    console.log('PASS ' + name);
  } catch (e) {
    failed++;
    console.log('FAIL ' + name + ': ' + (e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : e));
  }
}
function eq(a, b, what) {
  if (a !== b) throw new Error(`${what}: ${JSON.stringify(a)} !== ${JSON.stringify(b)}`);
}
const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
async function refused(p, code) {
  try {
    await p;
  } catch (e) {
    if (e instanceof VmsdError && e.code === code) return e;
    throw new Error(`want error ${code}, got ${e}`);
  }
  throw new Error(`want error ${code}, got a result`);
}

// ---- offline ----

await test('man_page_example', async () => {
  const page = readFileSync(TOP + '/man/vmsd-protocol.7', 'utf8');
  const block = page.slice(page.indexOf('A worked example'));
  const lines = block.slice(block.indexOf('.Bd'), block.indexOf('.Ed')).split('\n');
  const f = {};
  let msg = '';
  for (const raw of lines) {
    const l = raw.trim();
    const mm = /^(seed|key|caller|nonce|origin|method|args|sig)\s+(.*)$/.exec(l);
    if (mm) f[mm[1]] = mm[2];
    else if (/^[0-9a-f]+$/.test(l)) msg += l;
  }
  const seed = Uint8Array.from(f.seed.match(/../g).map((h) => parseInt(h, 16)));
  const me = await Identity.fromSeed(seed, { crypto });
  eq(b64url(me.publicKey), f.key, 'key');
  eq(me.id, f.caller, 'caller id');
  const args = JSON.parse(f.args);
  eq(canonicalJSON(args), f.args, 'canonical args');
  const bytes = callMessage({ key: me.publicKey, nonce: Number(f.nonce), origin: f.origin,
    method: f.method, args });
  eq(hex(bytes), msg, 'message');
  const s = await me.signCall({ nonce: Number(f.nonce), origin: f.origin, method: f.method, args });
  eq(s.sig, f.sig, 'signature');
});

await test('canonical_json', async () => {
  // expected texts are jansson's (JSON_COMPACT|JSON_SORT_KEYS|REAL_PRECISION(17))
  const cases = [
    [0.1, '0.10000000000000001'], [1e300, '1.0000000000000001e300'], [100.5, '100.5'],
    [1e21, '1e21'], [1e-7, '9.9999999999999995e-8'], [0.0001, '0.0001'],
    [1000000000000000.25, '1000000000000000.2'], [5e-324, '4.9406564584124654e-324'],
    [1.7976931348623157e308, '1.7976931348623157e308'], [123456789012345.6, '123456789012345.59'],
    [-2.5e-5, '-2.5000000000000001e-5'], [10000000000000002, '10000000000000002.0'],
    [2 ** 60, '1.152921504606847e18'], [0.3, '0.29999999999999999'], [-0, '0'],
    [9007199254740993n, '9007199254740993'], [-42, '-42'],
    [{ 'é': 1, z: 2, '\u{1F600}': 3, '\uFFFD': 4, 'a\u0001\u001f"\\/\u007f\u2028': [true, null] },
      '{"a\\u0001\\u001F\\"\\\\/\u007f\u2028":[true,null],"z":2,"é":1,"\uFFFD":4,"\u{1F600}":3}'],
  ];
  for (const [v, want] of cases) eq(canonicalJSON(v), want, String(v));
  for (const bad of [NaN, Infinity, undefined, 'a\u0000b', '\uD800x', new Date(0), 1n << 63n])
    try {
      canonicalJSON(bad);
      throw new Error('accepted ' + String(bad));
    } catch (e) {
      if (!(e instanceof TypeError || e instanceof RangeError)) throw e;
    }
  eq(b64url(fromB64url('A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg')),
    'A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg', 'base64url');
  for (const bad of ['A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbh', 'AQID+A', 'AQ=='])
    try {
      fromB64url(bad);
      throw new Error('accepted ' + bad);
    } catch (e) {
      if (/accepted/.test(e.message)) throw e;
    }
});

// ---- against vmsd ----

const me = await Identity.generate({ crypto });
const vmsd = new Client(URL, { identity: me, crypto });
const size = async (c) => (await vmsd.rpc('info', { contract: c })).size;
let rsvp;

await test('signed_rsvp_writes_caller_file', async () => {
  rsvp = await vmsd.call('guestlist', 'RSVP', ['bob', false, "Sorry, can't make it"]);
  eq(rsvp.value, null, 'value');
  const f = await vmsd.rpc('read', { contract: 'guestlist', path: `/rsvps/${me.id}.json` });
  const rec = JSON.parse(Buffer.from(f.data, 'base64').toString('utf8'));
  eq(rec.id, me.id, 'id');
  eq(rec.name, 'bob', 'name');
  eq(rec.reason, "Sorry, can't make it", 'reason');
});

await test('confirm_in_signed_tree', async () => {
  const { entry, checkpoint } = await vmsd.confirm(rsvp, { vkey: VKEY });
  eq(entry.caller, me.id, 'caller');
  eq(entry.auth, 'ed25519', 'auth');
  if (checkpoint.size <= rsvp.index) throw new Error('checkpoint does not cover');
  // under another key of the same name the checkpoint does not verify
  const name = VKEY.split('+')[0];
  const kb = Buffer.concat([Buffer.from([1]), Buffer.alloc(32, 7)]);
  const kid = createHash('sha256').update(name + '\n').update(kb).digest().subarray(0, 4);
  const other = `${name}+${kid.toString('hex')}+${kb.toString('base64')}`;
  await vmsd.confirm(rsvp, { vkey: other }).then(
    () => { throw new Error('confirmed under a wrong key'); },
    (e) => { if (/confirmed under/.test(e.message)) throw e; });
  // a reply naming another entry is not confirmed
  await vmsd.confirm({ ...rsvp, index: rsvp.index - 1 }).then(
    () => { throw new Error('confirmed the wrong entry'); },
    (e) => { if (/confirmed the/.test(e.message)) throw e; });
});

await test('replay_refused', async () => {
  const before = await size('guestlist');
  const e = await refused(vmsd.send(rsvp.request.body, rsvp.request.id), m.ERR_STALE_NONCE);
  eq(e.data.last_nonce, rsvp.request.signed.nonce, 'last_nonce');
  eq(await size('guestlist'), before, 'ledger size');
});

await test('other_contract_refused', async () => {
  const before = await size('party');
  const body = rsvp.request.body.replace('"contract":"guestlist"', '"contract":"party"');
  const e = await refused(vmsd.send(body, rsvp.request.id), m.ERR_WRONG_ORIGIN);
  eq(e.data.origin, await vmsd.origin('party'), 'origin in data');
  eq(await size('party'), before, 'ledger size');
});

await test('altered_args_refused', async () => {
  const req = await vmsd.signedRequest('guestlist', 'RSVP', ['eve', true]);
  const body = req.body.replace('"eve"', '"mallory"');
  await refused(vmsd.send(body, req.id), m.ERR_BAD_SIGNATURE);
});

await test('tricky_args_signed', async () => {
  // the daemon re-encodes the args: the signature verifies only if this
  // module's canonical JSON is the daemon's, byte for byte (no null: Lua
  // drops a trailing nil from what echo returns)
  const args = [0.1, 1e300, -2.5e-5, 2 ** 60, 9007199254740993n, 'é\u0001"\\/\u{1F600}',
    { z: 1, 'é': [true, false], '\uFFFD': 2, '\u{1F600}': { b: 1.5, a: 1e21 } }];
  const r = await vmsd.call('echo', 'echo', args);
  eq(canonicalJSON(r.value), canonicalJSON(JSON.parse(r.request.argsText)), 'echoed');
  await vmsd.confirm(r, { vkey: null });
});

await test('stale_nonce_resigned_once', async () => {
  // another client of the same identity got in first with a nonce ahead
  const ahead = new Client(URL, { identity: me, crypto });
  const far = Date.now() * 1000 + 5e9;
  const req = await ahead.signedRequest('guestlist', 'RSVP', ['bob', true], { nonce: far });
  await ahead.send(req.body, req.id);
  const r = await vmsd.call('guestlist', 'RSVP', ['bob', true, 'after']);
  eq(r.request.signed.nonce, far + 1, 'nonce');
  const { entry } = await vmsd.confirm(r);
  eq(entry.signed.nonce, far + 1, 'recorded nonce');
});

await test('anonymous_without_identity', async () => {
  const anon = new Client(URL, { crypto });
  const e = await refused(anon.call('guestlist', 'RSVP', ['x', true]), -32003);
  if (!/anonymous remote calls are off/.test(e.message)) throw new Error(e.message);
});

await test('vmsctl_identity_file', async () => {
  const id = await Identity.fromVmsctlFile(readFileSync(IDFILE, 'utf8'), { crypto });
  eq(id.id, VMSCTL_ID, 'same caller id as vmsctl whoami');
  const c = new Client(URL, { identity: id, crypto });
  const r = await c.call('guestlist', 'RSVP', ['carol', true]);
  const { entry } = await c.confirm(r, { vkey: VKEY });
  eq(entry.caller, VMSCTL_ID, 'caller');
});

process.exit(failed ? 1 : 0);
