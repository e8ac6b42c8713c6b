/**
 * Console script part: Mermaid rendering (its sanitised SVG is the only markup inserted) and the
 * execution diagram coloured by outcome.
 */
export const MERMAID_PART = String.raw`  // ---------- Mermaid ----------
  function initMermaid() {
    if (mermaidReady || !window.mermaid) return !!window.mermaid;
    window.mermaid.initialize({ startOnLoad: false, securityLevel: 'strict', theme: 'default', flowchart: { htmlLabels: true } });
    mermaidReady = true;
    return true;
  }

  function renderDiagram(container, source) {
    clear(container);
    if (!initMermaid()) { container.appendChild(el('pre', { text: source })); return Promise.resolve(false); }
    diagramCount += 1;
    return window.mermaid.render('flowd-diagram-' + diagramCount, source).then(function (out) {
      container.innerHTML = out.svg; // sanitised by Mermaid (securityLevel strict)
      container.setAttribute('data-rendered', 'true');
      return true;
    }, function (error) {
      container.setAttribute('data-rendered', 'error');
      container.appendChild(el('p', { 'class': 'error', text: 'diagram error: ' + (error && error.message ? error.message : String(error)) }));
      container.appendChild(el('pre', { text: source }));
      return false;
    });
  }

  var PRIORITY = ['failed', 'compensated', 'cancelled', 'running', 'fallback', 'restored', 'cached', 'ok'];

  function phaseClass(phase) {
    if (phase.status === 'failed') return 'failed';
    if (phase.status === 'compensated') return 'compensated';
    if (phase.status === 'cancelled') return 'cancelled';
    if (phase.status === 'running' || phase.status === 'waiting') return 'running';
    if (phase.fallback) return 'fallback';
    if (phase.restored) return 'restored';
    if (phase.cached) return 'cached';
    return 'ok';
  }

  /** The flow's diagram with every phase node classed by its outcome in this execution, and every compensation node by its own. */
  function colouredDiagram(diagram, record, phaseIds) {
    var outcome = {};
    var kinds = {};
    record.phases.forEach(function (phase) {
      var c = phaseClass(phase);
      var previous = outcome[phase.id];
      if (!previous || PRIORITY.indexOf(c) < PRIORITY.indexOf(previous)) outcome[phase.id] = c;
      kinds[phase.id] = phase.kind;
    });
    // A compensation's node (undo_<phase>): failed when any undo of the phase failed, compensated when one ran.
    var undone = {};
    (record.compensations || []).forEach(function (c) {
      var k = c.status === 'failed' ? 'failed' : c.status === 'pending' ? 'running' : 'compensated';
      if (!undone[c.phase] || PRIORITY.indexOf(k) < PRIORITY.indexOf(undone[c.phase])) undone[c.phase] = k;
    });
    var defined = {};
    diagram.split('\n').forEach(function (line) { var m = /^\s*((?:p|undo)_[A-Za-z0-9_]+)[\[\(\{\/\\>]/.exec(line); if (m) defined[m[1]] = true; });
    var lines = [diagram.replace(/\s+$/, ''),
      '  classDef ok fill:#d1fae5,stroke:#059669,color:#064e3b',
      '  classDef failed fill:#fee2e2,stroke:#dc2626,color:#7f1d1d',
      '  classDef compensated fill:#fef3c7,stroke:#d97706,color:#78350f',
      '  classDef cancelled fill:#f3f4f6,stroke:#6b7280,color:#374151',
      '  classDef running fill:#dbeafe,stroke:#1d4ed8,color:#1e3a8a',
      '  classDef fallback fill:#ffedd5,stroke:#ea580c,color:#7c2d12',
      '  classDef restored fill:#ede9fe,stroke:#7c3aed,color:#4c1d95',
      '  classDef cached fill:#e0f2fe,stroke:#0284c7,color:#0c4a6e',
      '  classDef notrun fill:#ffffff,stroke:#d1d5db,color:#9ca3af'];
    phaseIds.forEach(function (id) {
      var nodes = ['p_' + id, 'p_' + id + '_fork', 'p_' + id + '_join'].filter(function (n) { return defined[n]; });
      if (nodes.length) lines.push('  class ' + nodes.join(',') + ' ' + (outcome[id] || 'notrun'));
      if (defined['undo_' + id]) lines.push('  class undo_' + id + ' ' + (undone[id] || 'notrun'));
    });
    return lines.join('\n') + '\n';
  }
`;
