// vmsd.js — a client for vmsd's HTTP port, for web pages and node: one ES
// module, no dependencies, WebCrypto only. It makes Ed25519 identities,
// signs calls exactly as vmsd-protocol(7) ("Signed calls") specifies,
// sends them as JSON-RPC 2.0 over fetch (POST /rpc), checks that every
// reply answers its request, and can confirm a call: the ledger entry at the
// index the reply names holds this very signed request and, given the
// contract's verifier key, is included in a checkpoint signed by that key.
//
//   import { Client, Identity } from './vmsd.js';
//   const me = await Identity.generate();          // or Identity.fromSeed(...)
//   const vmsd = new Client('https://vmsd.example', { identity: me });
//   const { value, index } = await vmsd.call('guestlist', 'RSVP', ['bob', true]);
//
// Needs fetch, TextEncoder, BigInt and crypto.subtle with Ed25519 (current
// browsers; node 20, or node 18 given { crypto: require('node:crypto').webcrypto }).

export const DOMAIN = 'vmsd-call/v1';
export const ERR_BAD_SIGNATURE = -32010;
export const ERR_WRONG_ORIGIN = -32011;
export const ERR_STALE_NONCE = -32012;

const utf8 = new TextEncoder();
const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

// ---- base64 ----

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function b64encode(bytes, url) {
  let out = '';
  let i;
  for (i = 0; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + B64[n & 63];
  }
  if (i < bytes.length) {
    const n = (bytes[i] << 16) | ((i + 1 < bytes.length ? bytes[i + 1] : 0) << 8);
    out += B64[n >> 18] + B64[(n >> 12) & 63];
    out += i + 1 < bytes.length ? B64[(n >> 6) & 63] : (url ? '' : '=');
    out += url ? '' : '=';
  }
  return url ? out.replace(/\+/g, '-').replace(/\//g, '_') : out;
}

function b64decode(text, url) {
  if (typeof text !== 'string' || !(url ? /^[A-Za-z0-9_-]*$/ : /^[A-Za-z0-9+/]*={0,2}$/).test(text) ||
      (!url && text.length % 4 !== 0))
    throw new Error(url ? 'not base64url' : 'not base64');
  const s = url ? text.replace(/-/g, '+').replace(/_/g, '/') : text.replace(/=+$/, '');
  if (s.length % 4 === 1) throw new Error('truncated base64');
  const out = new Uint8Array(Math.floor((s.length * 6) / 8));
  let acc = 0, bits = 0, o = 0;
  for (const ch of s) {
    acc = ((acc << 6) | B64.indexOf(ch)) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 255;
    }
  }
  // one spelling per value: padding and unused bits as the encoder writes them
  if (b64encode(out, url) !== text) throw new Error('non-canonical base64');
  return out;
}

/** Unpadded base64url (RFC 4648 §5) of bytes. */
export function b64url(bytes) {
  return b64encode(bytes, true);
}

/** Bytes of unpadded base64url; throws on anything else. */
export function fromB64url(text) {
  return b64decode(text, true);
}

// ---- canonical JSON (vms-ledger(5), vmsd-protocol(7)) ----

function compareUtf8(a, b) {
  const x = utf8.encode(a), y = utf8.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

function stringText(s) {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = s.charCodeAt(i + 1);
      if (c > 0xdbff || !(d >= 0xdc00 && d <= 0xdfff))
        throw new TypeError('canonicalJSON: a string holds a lone surrogate');
      out += s[i] + s[i + 1];
      i++;
      continue;
    }
    if (c === 0) throw new TypeError('canonicalJSON: strings cannot hold U+0000');
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c < 0x20) out += '\\u00' + c.toString(16).toUpperCase().padStart(2, '0');
    else out += s[i];
  }
  return out + '"';
}

// C's printf("%.17g") of a finite non-zero double, exactly (round half to
// even on the exact binary value), as jansson writes reals.
function realText(x) {
  const neg = x < 0;
  const v = new DataView(new ArrayBuffer(8));
  v.setFloat64(0, neg ? -x : x);
  const hi = v.getUint32(0), lo = v.getUint32(4);
  const bexp = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e2 = -1074;
  if (bexp !== 0) {
    mant |= 1n << 52n;
    e2 = bexp - 1075;
  }
  // the value is digits * 10^p10, exactly
  let digits, p10;
  if (e2 >= 0) {
    digits = mant << BigInt(e2);
    p10 = 0;
  } else {
    digits = mant * 5n ** BigInt(-e2);
    p10 = e2;
  }
  let s = digits.toString();
  if (s.length > 17) {
    const drop = s.length - 17;
    const pow = 10n ** BigInt(drop);
    let q = digits / pow;
    const r = digits % pow, half = pow / 2n;
    if (r > half || (r === half && (q & 1n) === 1n)) q += 1n;
    p10 += drop;
    s = q.toString();
    if (s.length > 17) {
      s = s.slice(0, 17);
      p10 += 1;
    }
  }
  const exp10 = s.length - 1 + p10;
  s = s.padEnd(17, '0');
  const strip = (t) => t.replace(/0+$/, '');
  let out;
  if (exp10 < -4 || exp10 >= 17) {
    const frac = strip(s.slice(1));
    out = s[0] + (frac ? '.' + frac : '') + 'e' + (exp10 < 0 ? '-' : '') + Math.abs(exp10);
  } else if (exp10 >= 0) {
    const frac = strip(s.slice(exp10 + 1));
    out = s.slice(0, exp10 + 1) + (frac ? '.' + frac : '');
  } else {
    out = '0.' + strip('0'.repeat(-exp10 - 1) + s);
  }
  if (!/[.e]/.test(out)) out += '.0';
  return (neg ? '-' : '') + out;
}

/**
 * The canonical JSON text of a value: what vmsd signs, hashes and records.
 * Numbers that are safe integers (and BigInts within 64 bits) are
 * integers; other numbers are reals, printed as C's %.17g. Only plain
 * objects, arrays, strings, numbers, BigInts, booleans and null.
 */
export function canonicalJSON(value) {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return stringText(value);
    case 'bigint':
      if (value > INT64_MAX || value < INT64_MIN)
        throw new RangeError('canonicalJSON: integer beyond 64 bits');
      return value.toString();
    case 'number':
      if (!Number.isFinite(value)) throw new RangeError('canonicalJSON: not a finite number');
      // (-0 is the integer 0, as JSON.stringify writes it)
      if (Number.isSafeInteger(value)) return String(value);
      return realText(value);
    case 'object': {
      if (Array.isArray(value)) return '[' + value.map(canonicalJSON).join(',') + ']';
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null)
        throw new TypeError('canonicalJSON: only plain objects');
      const keys = Object.keys(value).sort(compareUtf8);
      return '{' + keys.map((k) => {
        if (value[k] === undefined) throw new TypeError('canonicalJSON: undefined member ' + k);
        return stringText(k) + ':' + canonicalJSON(value[k]);
      }).join(',') + '}';
    }
    default:
      throw new TypeError('canonicalJSON: cannot encode a ' + typeof value);
  }
}

// ---- the signed message ----

function u32(n) {
  return new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * The bytes an Ed25519 key signs for a call (vmsd-protocol(7)): the domain
 * "vmsd-call/v1" and a zero byte, the 32-byte key, the nonce (uint64
 * big-endian), then origin, method and the canonical JSON of args, each
 * after its uint32 big-endian length. argsText, if given, is used as the
 * canonical text instead of encoding args.
 */
export function callMessage({ key, nonce, origin, method, args = [], argsText }) {
  if (!(key instanceof Uint8Array) || key.length !== 32) throw new TypeError('key: 32 bytes');
  const n = BigInt(nonce);
  if (n < 1n || n > INT64_MAX) throw new RangeError('nonce: 1 to 2^63-1');
  const nb = new Uint8Array(8);
  new DataView(nb.buffer).setBigUint64(0, n);
  const o = utf8.encode(origin), m = utf8.encode(method);
  const a = utf8.encode(argsText !== undefined ? argsText : canonicalJSON(args));
  return concat([utf8.encode(DOMAIN), new Uint8Array([0]), key, nb,
    u32(o.length), o, u32(m.length), m, u32(a.length), a]);
}

// ---- identities ----

function subtleOf(crypto) {
  const c = crypto || globalThis.crypto;
  if (!c || !c.subtle) throw new Error('vmsd.js: no WebCrypto (pass { crypto })');
  return c.subtle;
}

const PKCS8_ED25519 = new Uint8Array([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05,
  0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);

/** An Ed25519 key pair that signs calls; its caller id is `id`. */
export class Identity {
  constructor(privateKey, publicKey, crypto) {
    this.privateKey = privateKey;	// a CryptoKey (storable in IndexedDB)
    this.publicKey = publicKey;	// 32 bytes
    this.id = 'ed25519:' + b64url(publicKey);
    this._subtle = subtleOf(crypto);
  }

  /** A new identity. Keep `extractable` false unless you must export it. */
  static async generate({ extractable = false, crypto } = {}) {
    const subtle = subtleOf(crypto);
    const kp = await subtle.generateKey({ name: 'Ed25519' }, extractable, ['sign', 'verify']);
    const pub = new Uint8Array(await subtle.exportKey('raw', kp.publicKey));
    return new Identity(kp.privateKey, pub, crypto);
  }

  /** The identity of a 32-byte Ed25519 seed (as in vmsctl's identity file). */
  static async fromSeed(seed, { extractable = false, crypto } = {}) {
    if (!(seed instanceof Uint8Array) || seed.length !== 32) throw new TypeError('seed: 32 bytes');
    const subtle = subtleOf(crypto);
    const der = concat([PKCS8_ED25519, seed]);
    const k = await subtle.importKey('pkcs8', der, { name: 'Ed25519' }, true, ['sign']);
    const jwk = await subtle.exportKey('jwk', k);
    const priv = extractable ? k :
      await subtle.importKey('pkcs8', der, { name: 'Ed25519' }, false, ['sign']);
    der.fill(0);
    return new Identity(priv, fromB64url(jwk.x), crypto);
  }

  /** The identity in the text of a vmsctl identity file (vmsctl(1)). */
  static async fromVmsctlFile(text, opts = {}) {
    const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    if (lines.length !== 1 || !lines[0].startsWith('ed25519-seed '))
      throw new Error('not a vmsctl identity');
    return Identity.fromSeed(fromB64url(lines[0].slice(13).trim()), opts);
  }

  /** The "signed" member of a call (vmsd-protocol(7)). */
  async signCall({ nonce, origin, method, args = [], argsText }) {
    const msg = callMessage({ key: this.publicKey, nonce, origin, method, args, argsText });
    const sig = new Uint8Array(await this._subtle.sign({ name: 'Ed25519' }, this.privateKey, msg));
    return { key: b64url(this.publicKey), nonce: typeof nonce === 'bigint' ? nonce : Number(nonce), origin, sig: b64url(sig) };
  }
}

// ---- the client ----

/** A JSON-RPC error from vmsd: code (e.g. ERR_STALE_NONCE) and data. */
export class VmsdError extends Error {
  constructor(code, message, data) {
    super(message);
    this.name = 'VmsdError';
    this.code = code;
    this.data = data;
  }
}

async function sha256(subtle, bytes) {
  return new Uint8Array(await subtle.digest('SHA-256', bytes));
}

function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

/** RFC 9162 §2.1.3.2: is leaf hash h at index in the tree of size with root? */
export async function verifyInclusion(h, index, size, proof, root, { crypto } = {}) {
  const subtle = subtleOf(crypto);
  if (index >= size) return false;
  let fn = index, sn = size - 1, r = h;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = await sha256(subtle, concat([new Uint8Array([1]), p, r]));
      if (fn % 2 === 0)
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
    } else {
      r = await sha256(subtle, concat([new Uint8Array([1]), r, p]));
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equalBytes(r, root);
}

/**
 * Verify a C2SP signed checkpoint under a verifier key
 * "name+hex(keyID)+base64(0x01||key)": returns { origin, size, root }, or
 * throws.
 */
export async function verifyCheckpoint(note, vkey, { crypto } = {}) {
  const subtle = subtleOf(crypto);
  // name "+" keyID "+" key: the name has no "+", base64 may
  const p1 = vkey.indexOf('+'), p2 = vkey.indexOf('+', p1 + 1);
  if (p1 <= 0 || p2 < 0) throw new Error('bad verifier key');
  const name = vkey.slice(0, p1), idhex = vkey.slice(p1 + 1, p2);
  const kb = b64decode(vkey.slice(p2 + 1), false);
  if (!name || !/^[0-9a-f]{8}$/.test(idhex || '') || kb.length !== 33 || kb[0] !== 1)
    throw new Error('bad verifier key');
  const keyid = (await sha256(subtle, concat([utf8.encode(name + '\n'), kb]))).subarray(0, 4);
  if (Array.from(keyid, (b) => b.toString(16).padStart(2, '0')).join('') !== idhex)
    throw new Error('verifier key: wrong key ID');
  const cut = note.indexOf('\n\n');
  if (cut < 0) throw new Error('checkpoint: not a signed note');
  const text = note.slice(0, cut + 1);
  const key = await subtle.importKey('raw', kb.subarray(1), { name: 'Ed25519' }, false, ['verify']);
  let ok = false;
  for (const line of note.slice(cut + 2).split('\n')) {
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const sig = b64decode(m[2], false);
    if (sig.length !== 68 || !equalBytes(sig.subarray(0, 4), keyid)) continue;
    if (await subtle.verify({ name: 'Ed25519' }, key, sig.subarray(4), utf8.encode(text))) ok = true;
  }
  if (!ok) throw new Error('checkpoint: no valid signature by ' + name);
  const [origin, size, root] = text.split('\n');
  if (origin !== name || !/^(0|[1-9][0-9]*)$/.test(size)) throw new Error('checkpoint: bad text');
  return { origin, size: Number(size), root: b64decode(root, false) };
}

/** A client of one vmsd HTTP port (base URL, e.g. "https://vmsd.example"). */
export class Client {
  constructor(url, { identity = null, fetch: f, crypto } = {}) {
    this.url = url.replace(/\/+$/, '') + '/rpc';
    this.identity = identity;
    this._fetch = f || globalThis.fetch.bind(globalThis);
    this._crypto = crypto;
    this._id = 0;
    this._origins = new Map();
    this._lastNonce = 0;
  }

  /**
   * Send one JSON-RPC request (the body text as given) and return the
   * result. Throws VmsdError for an error reply, Error when the reply is
   * not the answer to this request.
   */
  async send(body, id) {
    const res = await this._fetch(this.url, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body,
    });
    const text = await res.text();
    let reply;
    try {
      reply = JSON.parse(text);
    } catch {
      throw new Error(`vmsd: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
    }
    if (reply === null || typeof reply !== 'object' || reply.jsonrpc !== '2.0' ||
        reply.id !== id || (('result' in reply) === ('error' in reply)))
      throw new Error('vmsd: the reply does not answer request ' + id);
    if (reply.error) throw new VmsdError(reply.error.code, reply.error.message, reply.error.data);
    if (res.status !== 200) throw new Error('vmsd: HTTP ' + res.status);
    return reply.result;
  }

  /** Any method of vmsd-protocol(7) by name, with named params. */
  async rpc(method, params = {}) {
    const id = ++this._id;
    return this.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }), id);
  }

  /** The contract's origin (what signatures name), asked once. */
  async origin(contract) {
    if (!this._origins.has(contract)) {
      const info = await this.rpc('info', { contract });
      if (typeof info.origin !== 'string') throw new Error('vmsd: info has no origin');
      this._origins.set(contract, info.origin);
    }
    return this._origins.get(contract);
  }

  /** A fresh nonce: microseconds since the epoch, above the last one used. */
  nextNonce(after = 0) {
    let n = Date.now() * 1000;
    const floor = Math.max(this._lastNonce, after);
    if (n <= floor) n = floor + 1;
    this._lastNonce = n;
    return n;
  }

  /**
   * The JSON-RPC request text of a signed call, and its parts: { body, id,
   * signed, argsText }. Sending body again is a replay (vmsd refuses it).
   */
  async signedRequest(contract, method, args = [], { nonce } = {}) {
    if (!this.identity) throw new Error('vmsd: no identity to sign with');
    const origin = await this.origin(contract);
    const argsText = canonicalJSON(args);
    const signed = await this.identity.signCall({
      nonce: nonce !== undefined ? nonce : this.nextNonce(), origin, method, argsText,
    });
    const id = ++this._id;
    const body = `{"jsonrpc":"2.0","id":${id},"method":"call","params":{"contract":` +
      `${JSON.stringify(contract)},"method":${JSON.stringify(method)},"args":${argsText},` +
      `"signed":${canonicalJSON(signed)}}}`;
    return { body, id, signed, argsText, contract, method };
  }

  /**
   * Call a contract method: signed when the client has an identity (and
   * `sign` is not false). Returns { value, index, request }. A signed call
   * refused only because its nonce was not above the last accepted one was
   * not executed, and is signed once more with a greater nonce; nothing
   * that may have run is ever sent again.
   */
  async call(contract, method, args = [], { sign = true } = {}) {
    if (!this.identity || !sign)
      return { ...(await this.rpc('call', { contract, method, args })), request: null };
    let req = await this.signedRequest(contract, method, args);
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await this.send(req.body, req.id);
        if (!Number.isSafeInteger(r.index) || r.index < 1)
          throw new Error('vmsd: the reply names no ledger entry');
        return { value: r.value, index: r.index, request: req };
      } catch (e) {
        if (!(e instanceof VmsdError) || e.code !== ERR_STALE_NONCE || attempt > 0)
          throw e;
        const last = e.data && Number.isSafeInteger(e.data.last_nonce) ? e.data.last_nonce : 0;
        req = await this.signedRequest(contract, method, args, { nonce: this.nextNonce(last) });
      }
    }
  }

  /** Entry index of a contract's ledger: { bytes, entry }. */
  async entry(contract, index) {
    const r = await this.rpc('log', { contract, from: index, count: 1 });
    const e = r.entries && r.entries[0];
    if (!e || e.index !== index) throw new Error('vmsd: no entry ' + index);
    const bytes = b64decode(e.leaf, false);
    return { bytes, entry: JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) };
  }

  /**
   * Confirm a signed call from its result: the entry at its index records
   * exactly this request (caller, method, canonical arguments, the signed
   * object). With the contract's verifier key (pin it: from the host's
   * operator, or `vmsctl info` once), also that the entry is in the tree
   * of the latest checkpoint signed by that key. Returns
   * { entry, checkpoint }; throws on any mismatch.
   */
  async confirm({ index, request }, { vkey } = {}) {
    if (!request) throw new Error('vmsd: only signed calls can be confirmed');
    const { bytes, entry } = await this.entry(request.contract, index);
    const want = request.signed;
    const got = entry.signed || {};
    if (entry.type !== 'call' || entry.auth !== 'ed25519' || entry.caller !== this.identity.id ||
        entry.method !== request.method ||
        canonicalJSON(entry.args) !== canonicalJSON(JSON.parse(request.argsText)) ||
        got.key !== want.key || got.nonce !== want.nonce || got.origin !== want.origin ||
        got.sig !== want.sig)
      throw new Error(`vmsd: entry ${index} does not record this call`);
    if (!vkey) return { entry, checkpoint: null };
    const subtle = subtleOf(this._crypto);
    const cp = await this.rpc('checkpoint', { contract: request.contract });
    const checkpoint = await verifyCheckpoint(cp.note, vkey, { crypto: this._crypto });
    if (checkpoint.origin !== want.origin) throw new Error('vmsd: checkpoint of another origin');
    if (checkpoint.size <= index) throw new Error('vmsd: the checkpoint does not cover the entry');
    const pr = await this.rpc('prove', { contract: request.contract, index, size: checkpoint.size });
    const leaf = await sha256(subtle, concat([new Uint8Array([0]), bytes]));
    const proof = (pr.proof || []).map((p) => b64decode(p, false));
    if (!(await verifyInclusion(leaf, index, checkpoint.size, proof, checkpoint.root,
      { crypto: this._crypto })))
      throw new Error(`vmsd: entry ${index} is not in the signed tree`);
    return { entry, checkpoint };
  }
}
