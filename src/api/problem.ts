// The renderer is the HTTP layer's (src/http/problem.ts), shared with the inbound downloads;
// the route files of v1/ name it here.
export { sendProblem } from '../http/problem.js';
