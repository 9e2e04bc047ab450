import type { Leg } from '../model/states.js';

// Apart from connector.ts so that the CLI can lay out the legs without loading the connector.
export const LEGS: readonly Leg[] = ['outbound', 'inbound'];
