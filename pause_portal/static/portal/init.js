// Page start-up, loaded with <script type="module" src="{% static 'portal/init.js' %}">.
//
// GOV.UK Frontend 6 only initialises when <body> has the
// `govuk-frontend-supported` class (initAll() otherwise logs a SupportError
// and does nothing). Its page template sets it with an inline <script>,
// which our CSP forbids, so we set it here instead. Only browsers that
// support ES modules run this file, which is the same test the template's
// snippet makes ('noModule' in HTMLScriptElement.prototype).
//
// Keep the semicolons on the two module-loading lines below: with
// support_js_module_import_aggregation = True, ManifestStaticFilesStorage
// only rewrites them to hashed file names when they end in a semicolon.
// Avoid that keyword in comments here too, as Django's regex can match it.
import { initAll } from '../govuk/govuk-frontend.min.js';
import { initTimeoutWarning } from './timeout-warning.js';

document.body.classList.add('js-enabled', 'govuk-frontend-supported');

initAll();
initTimeoutWarning();
