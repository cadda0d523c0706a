// PostGraphile 5 on the peer database, as the peer kit configures it (../shared/bench/peer/pg5/graphile.config.mjs,
// copied unchanged below this comment); run.sh copies this file into .tools/pg5 and starts it on 127.0.0.1:5051.
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";
export default {
  extends: [PostGraphileAmberPreset],
  pgServices: [makePgService({ connectionString: "postgres://peer:peer@127.0.0.1:5432/peer", schemas: ["public"], poolConfig: { max: 10 } })],
  grafserv: { port: 5051, host: "127.0.0.1", graphiql: false },
  grafast: { explain: false },
};
