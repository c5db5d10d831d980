import { Foundation1795255369247 } from './1795255369247-Foundation';

/** Every migration, in order. `npm run cli -- db:migration:generate <Name>` appends here. */
export const ALL_MIGRATIONS: Function[] = [
  Foundation1795255369247,
];
