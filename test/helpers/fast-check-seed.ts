import fc from 'fast-check';

// Property tests run with one fixed seed, so a CI run fails only when the code changed, never on a
// newly drawn counterexample. To explore beyond it: FUZZ_SEED=random FUZZ_RUNS=5000 npx vitest run test/security
// (fast-check prints the seed and path of any failure; add the counterexample to the property's `examples`).
const seed = process.env['FUZZ_SEED'];
if (seed !== 'random') fc.configureGlobal({ seed: seed === undefined ? 20_261_205 : Number(seed) });
