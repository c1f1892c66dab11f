// The token bucket is shared by every adapter (Kosmi throttles with it too): it lives in core.
export { systemClock, TokenBucket, type Clock } from '../../core/token-bucket.js';
