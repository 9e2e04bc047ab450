/**
 * Buffer size of the streams a message body passes through (receive, spool, deliver).
 * Measured with 50 concurrent 25 MiB transfers: 210 MB peak RSS with 64 KiB buffers,
 * 230 MB with 256 KiB, and no measurable change in throughput.
 */
export const STREAM_BUFFER_BYTES = 64 * 1024;
