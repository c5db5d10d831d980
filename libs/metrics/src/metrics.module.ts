import {
  type DynamicModule,
  Inject,
  Injectable,
  Logger,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { startMetricsServer } from './metrics-server';
import { MetricsRepository } from './metrics.repository';
import { MetricsService } from './metrics.service';

const METRICS_PROCESS = Symbol('METRICS_PROCESS');

/** Serves /metrics on this process's port (METRICS_PORT for the API, METRICS_WORKER_PORT for the worker) when it is not 0. */
@Injectable()
class MetricsEndpoint implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Metrics');
  private server: { url: string; close(): Promise<void> } | undefined;

  constructor(
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(METRICS_PROCESS) private readonly process: 'api' | 'worker',
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const port = this.process === 'api' ? this.config.metrics.apiPort : this.config.metrics.workerPort;
    if (port === 0) return;
    this.server = await startMetricsServer(this.metrics, { host: this.config.metrics.host, port, token: this.config.metrics.token });
    this.logger.log(`metrics at ${this.server.url}${this.config.metrics.token ? ' (bearer token required)' : ''}`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.server?.close();
  }
}

/** The metrics registry, and its endpoint for the API or the worker. Needs the database, APP_CONFIG and ClockModule. */
@Module({})
export class MetricsModule {
  static forRoot(process: 'api' | 'worker'): DynamicModule {
    return {
      module: MetricsModule,
      providers: [MetricsRepository, MetricsService, MetricsEndpoint, { provide: METRICS_PROCESS, useValue: process }],
      exports: [MetricsService],
    };
  }
}
