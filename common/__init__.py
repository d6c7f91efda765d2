"""Cross-cutting helpers every app may use: refusals, the clock. Imports no Prorata app."""
