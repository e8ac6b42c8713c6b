/**
 * Console script part: the generated flow documents (Markdown) drawn as elements, text as text nodes.
 */
export const MARKDOWN_PART = String.raw`  // ---------- Markdown (the generated flow documents) ----------
  function inline(text) {
    var nodes = [];
    var pattern = /(\x60+)([\s\S]*?[^\x60])\1(?!\x60)|\*\*([^*]+)\*\*|\[([^\]]+)\]\(([^)\s]+)\)|<br>/g;
    var last = 0;
    var match;
    while ((match = pattern.exec(text)) !== null) {
      if (match.index > last) nodes.push(document.createTextNode(text.slice(last, match.index)));
      if (match[0] === '<br>') nodes.push(el('br'));
      else if (match[1]) nodes.push(el('code', { text: match[2].trim() }));
      else if (match[3]) nodes.push(el('strong', {}, inline(match[3])));
      else nodes.push(link(match[4], match[5]));
      last = pattern.lastIndex;
    }
    if (last < text.length) nodes.push(document.createTextNode(text.slice(last)));
    return nodes;
  }

  function link(label, href) {
    var flowDoc = /^([a-z0-9][a-z0-9_-]*)\.md$/.exec(href);
    if (flowDoc) return el('a', { href: '#/flows/' + flowDoc[1] }, inline(label));
    if (/^(https?:\/\/|\/|#)/.test(href)) return el('a', { href: href }, inline(label));
    return el('span', {}, inline(label));
  }

  function splitRow(line) {
    var cells = [];
    var current = '';
    var body = line.trim().replace(/^\|/, '').replace(/\|$/, '');
    for (var i = 0; i < body.length; i += 1) {
      var c = body[i];
      if (c === '\\' && body[i + 1] === '|') { current += '|'; i += 1; }
      else if (c === '|') { cells.push(current.trim()); current = ''; }
      else current += c;
    }
    cells.push(current.trim());
    return cells;
  }

  function markdown(text, diagrams) {
    var lines = text.split('\n');
    var out = [];
    var i = 0;
    var isBlockStart = function (line) { return /^(\x60{3,}|#{1,6}\s|\||\s*- |!!! |>|<!--)/.test(line); };
    while (i < lines.length) {
      var line = lines[i];
      var fence = /^(\x60{3,})(\w*)\s*$/.exec(line);
      if (fence) {
        var body = [];
        i += 1;
        while (i < lines.length && lines[i].indexOf(fence[1]) !== 0) { body.push(lines[i]); i += 1; }
        i += 1;
        if (fence[2] === 'mermaid') {
          var box = el('div', { 'class': 'diagram doc-diagram' });
          diagrams.push({ box: box, source: body.join('\n') });
          out.push(box);
        } else out.push(el('pre', {}, [el('code', { 'class': fence[2] ? 'language-' + fence[2] : undefined, text: body.join('\n') })]));
        continue;
      }
      var heading = /^(#{1,6})\s+(.*)$/.exec(line);
      if (heading) { out.push(el('h' + heading[1].length, {}, inline(heading[2]))); i += 1; continue; }
      if (/^<!--/.test(line) || line.trim() === '') { i += 1; continue; }
      if (/^\|/.test(line)) {
        var rows = [];
        while (i < lines.length && /^\|/.test(lines[i])) { rows.push(splitRow(lines[i])); i += 1; }
        var head = rows.shift() || [];
        if (rows.length && rows[0].every(function (c) { return /^:?-+:?$/.test(c); })) rows.shift();
        out.push(el('table', {}, [
          el('thead', {}, [el('tr', {}, head.map(function (c) { return el('th', {}, inline(c)); }))]),
          el('tbody', {}, rows.map(function (r) { return el('tr', {}, r.map(function (c) { return el('td', {}, inline(c)); })); })),
        ]));
        continue;
      }
      var admonition = /^!!! (\w+)(?: "(.*)")?/.exec(line);
      if (admonition) {
        var inner = [];
        i += 1;
        while (i < lines.length && /^ {4}/.test(lines[i])) { inner.push(lines[i].slice(4)); i += 1; }
        out.push(el('div', { 'class': 'admonition admonition-' + admonition[1] }, [el('strong', { text: admonition[2] || admonition[1] })].concat(markdown(inner.join('\n'), diagrams))));
        continue;
      }
      if (/^\s*- /.test(line)) {
        var items = [];
        while (i < lines.length && /^\s*- /.test(lines[i])) { items.push(el('li', {}, inline(lines[i].replace(/^\s*- /, '')))); i += 1; }
        out.push(el('ul', {}, items));
        continue;
      }
      if (/^>/.test(line)) {
        var quote = [];
        while (i < lines.length && /^>/.test(lines[i])) { quote.push(lines[i].replace(/^>\s?/, '')); i += 1; }
        out.push(el('blockquote', {}, inline(quote.join(' '))));
        continue;
      }
      var para = [];
      while (i < lines.length && lines[i].trim() !== '' && (para.length === 0 || !isBlockStart(lines[i]))) { para.push(lines[i]); i += 1; }
      var p = el('p');
      para.forEach(function (l, n) { if (n > 0) p.appendChild(el('br')); inline(l).forEach(function (node) { p.appendChild(node); }); });
      out.push(p);
    }
    return out;
  }

  function renderDocument(container, text) {
    var diagrams = [];
    clear(container);
    markdown(text, diagrams).forEach(function (node) { container.appendChild(node); });
    // One after the other: Mermaid renders through shared state.
    return diagrams.reduce(function (chain, d) { return chain.then(function () { return renderDiagram(d.box, d.source); }); }, Promise.resolve());
  }
`;
