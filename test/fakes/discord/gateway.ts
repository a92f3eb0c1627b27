import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { constants as zlibConstants, createDeflate, type Deflate } from 'node:zlib';
import { GatewayCloseCodes, GatewayDispatchEvents, GatewayIntentBits, GatewayOpcodes, type GatewayReadyDispatchData } from 'discord.js';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { DiscordState } from './state.js';
import { NO_FLAGS, type Waiters } from './util.js';

interface Payload {
  op: number;
  d: unknown;
  s: number | null;
  t: string | null;
}

interface Session {
  id: string;
  shard: [number, number];
  intents: number;
  seq: number;
  /** Dispatches kept for replay on RESUME. */
  sent: Payload[];
  conn: Connection | null;
  ready: boolean;
  /** Closed by the bot with 1000/1001, which ends a session for good on Discord. */
  dead: boolean;
}

const PRIVILEGED_INTENTS = GatewayIntentBits.GuildMembers | GatewayIntentBits.GuildPresences | GatewayIntentBits.MessageContent;
const REPLAY_LIMIT = 1000;

/** One websocket; speaks JSON text frames, or one zlib stream when the bot asks for `compress=zlib-stream`. */
class Connection {
  session: Session | null = null;
  #deflate: Deflate | null = null;
  #queue = Promise.resolve();
  #disposed = false;

  constructor(
    readonly ws: WebSocket,
    compress: boolean,
  ) {
    // A reset connection is the bot's business (it reconnects); unhandled, it would crash the test process.
    ws.on('error', () => undefined);
    if (compress) {
      this.#deflate = createDeflate();
      this.#deflate.on('error', (error) => console.error('[fake-discord] zlib-stream failed:', error));
    }
  }

  send(payload: Payload): void {
    const text = JSON.stringify(payload);
    if (!this.#deflate) return this.#write(text);
    this.#queue = this.#queue.then(() => this.#compress(text)).then((frame) => {
      if (frame) this.#write(frame);
    });
  }

  /** One Z_SYNC_FLUSH-terminated chunk of the connection's single deflate stream, as Discord sends it. */
  #compress(text: string): Promise<Buffer | null> {
    const deflate = this.#deflate!;
    if (this.#disposed) return Promise.resolve(null);
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      const collect = (chunk: Buffer): number => chunks.push(chunk);
      deflate.on('data', collect);
      deflate.write(text);
      deflate.flush(zlibConstants.Z_SYNC_FLUSH, () => {
        deflate.off('data', collect);
        resolve(Buffer.concat(chunks));
      });
    });
  }

  #write(frame: string | Buffer): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(frame);
  }

  close(code: number, reason: string): void {
    if (code !== 1000) console.error(`[fake-discord] gateway closes the bot's connection: ${code} ${reason}`);
    this.ws.close(code, reason);
  }

  dispose(): void {
    this.#disposed = true;
    this.#deflate?.close();
  }
}

export class FakeGateway {
  readonly received: { op: number; d: unknown }[] = [];
  resumes = 0;
  #wss = new WebSocketServer({ noServer: true });
  #sessions: Session[] = [];
  #connections = new Set<Connection>();

  constructor(
    private readonly state: DiscordState,
    private readonly waiters: Waiters,
    private readonly opts: { token: string | undefined; heartbeatIntervalMs: number; privilegedIntents: number; url: string },
  ) {}

  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const url = new URL(req.url ?? '/', 'http://fake');
      if (url.pathname !== '/gateway' && url.pathname !== '/gateway/resume') {
        console.error(`[fake-discord] websocket upgrade on unknown path ${url.pathname}`);
        socket.destroy();
        return;
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#open(ws, url.searchParams));
    });
  }

  /** True once some bot has identified and been sent READY and its GUILD_CREATEs on a live connection. */
  hasReadyBot(): boolean {
    return this.#sessions.some((s) => s.ready && !s.dead && s.conn !== null);
  }

  /**
   * Sends an event to the newest session that owns the guild's shard, if it asked for the event's intent.
   * False when no bot session exists at all.
   */
  dispatch(t: string, d: unknown, guildId?: string, intent?: number): boolean {
    const session = this.#sessionFor(guildId);
    if (!session) return false;
    if (intent === undefined || session.intents & intent) this.#emit(session, t, d);
    return true;
  }

  /** Connections the bot has not started closing. */
  openConnections(): number {
    return [...this.#connections].filter((c) => c.ws.readyState === c.ws.OPEN).length;
  }

  /** Sends opcode 7 to every live connection; discord.js then reconnects and resumes. */
  reconnect(): number {
    const live = this.#sessions.filter((s) => !s.dead && s.conn);
    for (const session of live) session.conn!.send({ op: GatewayOpcodes.Reconnect, d: null, s: null, t: null });
    return live.length;
  }

  close(): void {
    for (const conn of this.#connections) {
      conn.ws.terminate();
      conn.dispose();
    }
    this.#wss.close();
  }

  #sessionFor(guildId: string | undefined): Session | undefined {
    const live = this.#sessions.filter((s) => s.ready && !s.dead && (guildId === undefined || shardOf(guildId, s.shard[1]) === s.shard[0]));
    return live.at(-1);
  }

  #emit(session: Session, t: string, d: unknown): void {
    const payload: Payload = { op: GatewayOpcodes.Dispatch, t, s: ++session.seq, d };
    session.sent.push(payload);
    if (session.sent.length > REPLAY_LIMIT) session.sent.shift();
    session.conn?.send(payload);
  }

  #open(ws: WebSocket, query: URLSearchParams): void {
    const compress = query.get('compress');
    const conn = new Connection(ws, compress === 'zlib-stream');
    this.#connections.add(conn);
    ws.on('close', (code) => {
      this.#connections.delete(conn);
      conn.dispose();
      if (conn.session?.conn === conn) {
        conn.session.conn = null;
        if (code === 1000 || code === 1001) conn.session.dead = true;
      }
    });
    ws.on('message', (data, isBinary) => this.#onMessage(conn, data, isBinary));
    if (query.get('v') !== '10') return conn.close(GatewayCloseCodes.InvalidAPIVersion, 'Invalid API version');
    if (query.get('encoding') !== 'json') return conn.close(GatewayCloseCodes.DecodeError, 'the fake speaks encoding=json only');
    if (compress !== null && compress !== 'zlib-stream') return conn.close(GatewayCloseCodes.DecodeError, `the fake does not support compress=${compress}`);
    conn.send({ op: GatewayOpcodes.Hello, d: { heartbeat_interval: this.opts.heartbeatIntervalMs, _trace: ['["fake-gateway",{"micros":0}]'] }, s: null, t: null });
  }

  #onMessage(conn: Connection, data: RawData, isBinary: boolean): void {
    let payload: { op?: unknown; d?: unknown };
    try {
      payload = JSON.parse((Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer)).toString('utf8'));
    } catch {
      return conn.close(GatewayCloseCodes.DecodeError, `Error while decoding payload${isBinary ? ' (binary frames are not supported)' : ''}`);
    }
    if (payload.op !== GatewayOpcodes.Heartbeat) this.received.push({ op: Number(payload.op), d: payload.d });
    switch (payload.op) {
      case GatewayOpcodes.Heartbeat:
        return conn.send({ op: GatewayOpcodes.HeartbeatAck, d: null, s: null, t: null });
      case GatewayOpcodes.Identify:
        return this.#identify(conn, payload.d as IdentifyData);
      case GatewayOpcodes.Resume:
        return this.#resume(conn, payload.d as { token: string; session_id: string; seq: number });
      case GatewayOpcodes.PresenceUpdate:
        if (!conn.session) conn.close(GatewayCloseCodes.NotAuthenticated, 'Not authenticated.');
        return;
      case GatewayOpcodes.RequestGuildMembers:
      case GatewayOpcodes.VoiceStateUpdate:
        console.error(`[fake-discord] gateway opcode ${payload.op} is not faked; the bot sent ${JSON.stringify(payload.d)}`);
        return;
      default:
        return conn.close(GatewayCloseCodes.UnknownOpcode, 'Unknown opcode.');
    }
  }

  #tokenOk(token: unknown): boolean {
    return typeof token === 'string' && token.length > 0 && (this.opts.token === undefined || token === this.opts.token);
  }

  #identify(conn: Connection, d: IdentifyData): void {
    if (conn.session) return conn.close(GatewayCloseCodes.AlreadyAuthenticated, 'Already authenticated.');
    if (!this.#tokenOk(d?.token)) return conn.close(GatewayCloseCodes.AuthenticationFailed, 'Authentication failed.');
    if (typeof d.intents !== 'number') return conn.close(GatewayCloseCodes.InvalidIntents, 'Invalid intent(s).');
    if (d.intents & PRIVILEGED_INTENTS & ~this.opts.privilegedIntents) {
      return conn.close(GatewayCloseCodes.DisallowedIntents, 'Disallowed intent(s): enable them in the fake with privilegedIntents.');
    }
    const shard: [number, number] = d.shard ?? [0, 1];
    if (shard[0] >= shard[1]) return conn.close(GatewayCloseCodes.InvalidShard, 'Invalid shard.');
    const session: Session = { id: randomBytes(16).toString('hex'), shard, intents: d.intents, seq: 0, sent: [], conn, ready: false, dead: false };
    conn.session = session;
    this.#sessions.push(session);
    const guildIds = [...this.state.guilds.keys()].filter((id) => shardOf(id, shard[1]) === shard[0]);
    const ready: GatewayReadyDispatchData = {
      v: 10,
      user: { ...this.state.botUser, mfa_enabled: false, verified: true, email: null },
      guilds: guildIds.map((id) => ({ id, unavailable: true })),
      session_id: session.id,
      resume_gateway_url: `${this.opts.url}/resume`,
      shard,
      application: { id: this.state.applicationId, flags: NO_FLAGS, flags_new: '0' },
    };
    this.#emit(session, GatewayDispatchEvents.Ready, ready);
    if (d.intents & GatewayIntentBits.Guilds) {
      for (const id of guildIds) this.#emit(session, GatewayDispatchEvents.GuildCreate, this.state.guildPayload(id));
    }
    session.ready = true;
    this.waiters.notify();
  }

  #resume(conn: Connection, d: { token: string; session_id: string; seq: number }): void {
    const session = this.#sessions.find((s) => s.id === d?.session_id);
    if (!this.#tokenOk(d?.token)) return conn.close(GatewayCloseCodes.AuthenticationFailed, 'Authentication failed.');
    if (!session || session.dead) {
      conn.send({ op: GatewayOpcodes.InvalidSession, d: false, s: null, t: null });
      return;
    }
    session.conn?.ws.terminate();
    session.conn = conn;
    conn.session = session;
    for (const payload of session.sent) if (payload.s! > d.seq) conn.send(payload);
    this.#emit(session, GatewayDispatchEvents.Resumed, { _trace: ['["fake-gateway",{"micros":0}]'] });
    this.resumes += 1;
    this.waiters.notify();
  }
}

interface IdentifyData {
  token: string;
  intents: number;
  shard?: [number, number];
}

function shardOf(guildId: string, shardCount: number): number {
  return Number((BigInt(guildId) >> 22n) % BigInt(shardCount));
}
