import { ExportFile } from './export-file.entity';

export * from './export-file.entity';

export const EXPORTS_ENTITIES = [ExportFile];
