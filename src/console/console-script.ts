import { CALLS_PART } from './script/calls.js';
import { DOM_PART } from './script/dom.js';
import { EXECUTION_PART } from './script/execution.js';
import { FLOWS_PART } from './script/flows.js';
import { MARKDOWN_PART } from './script/markdown.js';
import { MERMAID_PART } from './script/mermaid.js';

/** Routes the location hash to a view; the API key form. */
const ROUTER_PART = String.raw`  function route() {
    var hash = location.hash.replace(/^#/, '') || '/';
    var flow = /^\/flows\/([^/]+)$/.exec(hash);
    var execution = /^\/executions\/([^/]+)$/.exec(hash);
    if (flow) flowPage(decodeURIComponent(flow[1]));
    else if (execution) executionPage(decodeURIComponent(execution[1]));
    else home();
    window.scrollTo(0, 0);
  }

  var keyForm = document.getElementById('key-form');
  var keyInput = document.getElementById('api-key');
  keyInput.value = sessionStorage.getItem(KEY_STORAGE) || '';
  keyForm.addEventListener('submit', function (event) {
    event.preventDefault();
    if (keyInput.value) sessionStorage.setItem(KEY_STORAGE, keyInput.value); else sessionStorage.removeItem(KEY_STORAGE);
    route();
  });
  window.addEventListener('hashchange', route);
  route();
`;

/**
 * The console's browser script, served as /console/assets/console.js (a string so it ships inside
 * the compiled package with nothing to copy): the parts in ./script/, each a String.raw of plain
 * ES2017, concatenated into one function scope. No framework, no innerHTML for data: every value
 * from the API reaches the page as text nodes; only Mermaid's sanitised SVG is inserted as markup.
 * The parts are written without backticks or template placeholders (they live in String.raw).
 */
export const CONSOLE_SCRIPT = ['(function () {', "  'use strict';", DOM_PART, MERMAID_PART, MARKDOWN_PART, FLOWS_PART, CALLS_PART, EXECUTION_PART, ROUTER_PART, '})();', ''].join('\n');
