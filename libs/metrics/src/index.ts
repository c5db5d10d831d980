export * from './metrics-server';
export * from './metrics.module';
export * from './metrics.service';
