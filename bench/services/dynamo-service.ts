import { startEmbeddedDynamo } from '../../functions/adapters/local/embedded-dynamodb.ts';
import { serveParent } from '../child-service.ts';

/** Helper process: the embedded store (dynalite, in memory) on its own core, like the DynamoDB service. */
export interface DynamoServiceReady {
  endpoint: string;
}

const store = await startEmbeddedDynamo({});
serveParent({ endpoint: store.endpoint } satisfies DynamoServiceReady, {}, () => store.close());
