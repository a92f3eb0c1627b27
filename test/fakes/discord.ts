/**
 * A loopback Discord for e2e tests: REST under `apiUrl` and a gateway on the same port, speaking the wire
 * format discord.js 14 expects. Start one per test (or file), point the client at it with
 * `new Client({ intents, rest: { api: fake.apiUrl } })`, and always `client.destroy()` before `fake.close()`:
 * a client whose gateway vanishes keeps trying to reconnect.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ChannelType, GatewayDispatchEvents, GatewayIntentBits } from 'discord.js';
import { CommandRegistry } from './discord/commands.js';
import { FakeGateway } from './discord/gateway.js';
import { RestRouter } from './discord/http.js';
import { Interactions } from './discord/interactions.js';
import { ChannelMessages } from './discord/messages.js';
import { DiscordState } from './discord/state.js';
import type { FakeDiscord, FakeDiscordOptions } from './discord/types.js';
import { createSnowflakes, Waiters } from './discord/util.js';

export type * from './discord/types.js';

export async function startFakeDiscord(opts: FakeDiscordOptions = {}): Promise<FakeDiscord> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const origin = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const now = opts.now ?? Date.now;
  const nextId = createSnowflakes(now);
  const applicationId = opts.applicationId ?? nextId();
  const guilds = opts.guilds ?? [{ id: nextId(), name: 'Fake Guild', channels: [{ id: nextId(), name: 'general', type: ChannelType.GuildText }] }];
  const waitTimeoutMs = opts.waitTimeoutMs ?? 10_000;

  const state = new DiscordState(applicationId, guilds, nextId, now);
  const waiters = new Waiters();
  const router = new RestRouter(opts.token);
  const gateway = new FakeGateway(state, waiters, {
    token: opts.token,
    heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 41_250,
    privilegedIntents: opts.privilegedIntents ?? 0,
    url: `ws://${origin}/gateway`,
  });
  const registry = new CommandRegistry(state);
  const channelMessages = new ChannelMessages(state, opts.nonceWindowMs ?? 5 * 60_000);
  const interactions = new Interactions(state, registry, gateway, router, waiters, {
    responseMs: opts.interactionResponseMs ?? 3_000,
    tokenMs: opts.interactionTokenMs ?? 15 * 60_000,
    waitTimeoutMs,
    requireRegisteredCommands: opts.requireRegisteredCommands ?? true,
  });

  const sessionStartLimit = { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 1 };
  router.route('GET', '/gateway', () => ({ status: 200, body: { url: `ws://${origin}/gateway` } }), { auth: false });
  router.route('GET', '/gateway/bot', () => ({ status: 200, body: { url: `ws://${origin}/gateway`, shards: 1, session_start_limit: sessionStartLimit } }));
  router.route('GET', '/users/@me', () => ({ status: 200, body: { ...state.botUser, mfa_enabled: false, verified: true } }));
  router.route('GET', '/applications/@me', () => ({
    status: 200,
    body: {
      id: applicationId, name: state.botUser.username, icon: null, description: '', bot_public: true, bot_require_code_grant: false,
      verify_key: '0'.repeat(64), flags: 0, bot: state.botUser, owner: state.user(state.ownerId),
    },
  }));
  registry.routes(router);
  channelMessages.routes(router);
  interactions.routes(router);
  server.on('request', (req, res) => void router.handle(req, res));
  gateway.attach(server);

  return {
    apiUrl: `http://${origin}/api`,
    applicationId,
    guilds,
    defaultUserId: interactions.defaultUserId,
    requests: router.requests,
    gatewayPayloads: gateway.received,
    commands: {
      get global() {
        return registry.global;
      },
      guilds: registry.guilds,
    },
    async ready() {
      await waiters.waitFor(() => (gateway.hasReadyBot() ? true : undefined), waitTimeoutMs, () => `No bot identified on the fake gateway within ${waitTimeoutMs} ms.`);
    },
    runCommand: (input) => interactions.runCommand(input),
    clickButton: (input) => interactions.clickButton(input),
    message: (id) => interactions.message(id),
    autocomplete: (input) => interactions.autocomplete(input),
    channelMessages: (channelId) => channelMessages.inChannel(channelId).map((m) => state.snapshot(m)),
    failNext: (match, response, times) => router.failNext(match, response, times),
    clearFailures: () => router.clearFailures(),
    deleteChannel(channelId) {
      const channel = state.liveChannel(channelId);
      if (!channel) throw new Error(`deleteChannel: no channel ${channelId}`);
      channel.deleted = true;
      gateway.dispatch(GatewayDispatchEvents.ChannelDelete, state.channelPayload(channel), channel.guildId, GatewayIntentBits.Guilds);
    },
    async reconnectGateway() {
      const resumesBefore = gateway.resumes;
      const count = gateway.reconnect();
      if (count === 0) throw new Error('reconnectGateway: no bot is connected');
      await waiters.waitFor(() => (gateway.resumes >= resumesBefore + count ? true : undefined), waitTimeoutMs, () => 'The bot did not resume after opcode 7.');
    },
    async close() {
      if (gateway.openConnections() > 0) {
        console.error('[fake-discord] closed while a bot was still connected: call client.destroy() first, or it keeps reconnecting and the test process never exits');
      }
      waiters.close();
      gateway.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
