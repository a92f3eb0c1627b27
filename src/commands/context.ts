import type { ExplorerLinks } from '../chain/explorer.js';
import type { ProviderStatus } from '../chain/providers/failover.js';
import type { Logger } from '../logger.js';
import type { PushStatus } from '../sync/push.js';
import type { SettingsService } from '../sync/settings.js';
import type { WalletService } from '../wallet/service.js';

/** What every handler may use: the use cases and how to render, never the database or a provider. */
export interface CommandContext {
  wallet: WalletService;
  settings: SettingsService;
  links: ExplorerLinks;
  /** the data service that answered last (failover may switch), for "Live from …" */
  providerName: () => string;
  /** the configured data services, preferred first, and which are set aside after failing (/config show) */
  dataServices: () => ProviderStatus[];
  /**
   * Electrum push (/config show): undefined when it is off, null when another process holds it
   * (only one keeps subscriptions)
   */
  pushStatus?: () => PushStatus | null | undefined;
  logger: Logger;
}
