/**
 * Session timeout warning (GOV.UK / HMRC "timeout warning" pattern).
 *
 * Configuration comes from data attributes on <body>:
 *
 *   data-timeout-seconds  idle timeout of the server session, e.g. 1800.
 *                         Without it the warning is not active.
 *   data-warning-seconds  how long before the timeout to warn, e.g. 120.
 *                         Defaults to 120.
 *   data-keepalive-url    POSTed (with the X-CSRFToken header) by
 *                         "Stay signed in". It should answer 2xx (e.g. 204)
 *                         while signed in, and 401 or a redirect to the
 *                         sign-in page once the session is gone.
 *   data-signout-url      target of the "Sign out" link.
 *   data-timed-out-url    where the browser goes when the time runs out.
 *   data-csrf-cookie-name optional; the CSRF cookie to read. Without it,
 *                         `csrftoken` and then `__Host-csrftoken` (the
 *                         production name) are tried.
 *
 * The server's idle clock only moves when it gets a request, so mouse or
 * keyboard activity does not reset the timer. Things that do reset it:
 *   - loading a page (the timer starts from the start of navigation),
 *   - a successful keepalive from "Stay signed in" (or Esc),
 *   - a page load or keepalive in another tab of the same origin
 *     (shared with BroadcastChannel),
 *   - a `portal:session-activity` event on `document`, for other scripts
 *     that have made a request to the server (see notifySessionActivity).
 *
 * No inline styles are used; the dialog is styled by portal/portal.css.
 */

const DEFAULT_WARNING_SECONDS = 120
const ANNOUNCE_INTERVAL_MS = 20000
const ACTIVITY_EVENT = 'portal:session-activity'
const CHANNEL_NAME = 'portal-session-timeout'
const CSRF_COOKIE_NAMES = ['csrftoken', '__Host-csrftoken']

let instance = null

function readCookie(name) {
  const cookies = document.cookie ? document.cookie.split(';') : []
  for (const cookie of cookies) {
    const index = cookie.indexOf('=')
    if (index < 0) continue
    if (cookie.slice(0, index).trim() === name) {
      try {
        return decodeURIComponent(cookie.slice(index + 1).trim())
      } catch {
        return cookie.slice(index + 1).trim()
      }
    }
  }
  return ''
}

function getCsrfToken(cookieName) {
  const names = cookieName ? [cookieName] : CSRF_COOKIE_NAMES
  for (const name of names) {
    const value = readCookie(name)
    if (value) return value
  }
  const input = document.querySelector('input[name="csrfmiddlewaretoken"]')
  return input ? input.value : ''
}

function parseSeconds(value) {
  if (value === undefined || value === null || String(value).trim() === '') {
    return NaN
  }
  const number = Number(value)
  return Number.isFinite(number) ? number : NaN
}

function plural(count, unit) {
  return `${count} ${unit}${count === 1 ? '' : 's'}`
}

/** Whole minutes (rounded up) from one minute upwards, then seconds. */
function formatRemaining(seconds) {
  if (seconds >= 60) return plural(Math.ceil(seconds / 60), 'minute')
  return plural(Math.max(0, Math.ceil(seconds)), 'second')
}

function messageFor(seconds) {
  return `For your security, we will sign you out in ${formatRemaining(seconds)}.`
}

function createElement(tagName, className, text) {
  const element = document.createElement(tagName)
  if (className) element.className = className
  if (text) element.textContent = text
  return element
}

/** Start of the current page's navigation (before the server saw the request). */
function pageLoadTime() {
  const now = Date.now()
  const origin =
    typeof performance !== 'undefined' && performance.timeOrigin
      ? Math.floor(performance.timeOrigin)
      : NaN
  return Number.isFinite(origin) && origin <= now ? origin : now
}

class TimeoutWarning {
  constructor(config) {
    this.timeoutMs = config.timeoutSeconds * 1000
    this.warningMs = config.warningSeconds * 1000
    this.keepaliveUrl = config.keepaliveUrl
    this.signoutUrl = config.signoutUrl
    this.csrfCookieName = config.csrfCookieName
    this.lastActivity = pageLoadTime()
    this.timer = null
    this.busy = false
    this.closedByScript = false
    this.finished = false
    this.returnFocus = null
    this.lastAnnounce = 0
    this.channel = null
    this.dialog = null

    if (this.warningMs > 0 && typeof HTMLDialogElement === 'function') {
      this.buildDialog()
    }
  }

  buildDialog() {
    const dialog = createElement('dialog', 'portal-timeout-dialog')
    dialog.id = 'portal-timeout-dialog'
    dialog.setAttribute('role', 'dialog')
    dialog.setAttribute('aria-modal', 'true')
    dialog.setAttribute('aria-labelledby', 'portal-timeout-dialog-heading')
    dialog.setAttribute('aria-describedby', 'portal-timeout-dialog-message')

    const heading = createElement(
      'h2',
      'govuk-heading-m portal-timeout-dialog__heading',
      "You're about to be signed out"
    )
    heading.id = 'portal-timeout-dialog-heading'
    heading.tabIndex = -1

    // Visible text with a countdown that ticks every second. It is hidden
    // from assistive technology (it would be far too chatty) but is still
    // the dialog's accessible description, because aria-describedby refers
    // to it directly.
    const countdown = createElement('span', 'portal-timeout-dialog__countdown')
    const message = createElement('p', 'govuk-body')
    message.id = 'portal-timeout-dialog-message'
    message.setAttribute('aria-hidden', 'true')
    message.append('For your security, we will sign you out in ', countdown, '.')

    // Screen reader version, updated at most every 20 seconds.
    const live = createElement('p', 'govuk-visually-hidden')
    live.setAttribute('aria-live', 'polite')
    live.setAttribute('aria-atomic', 'true')

    const error = createElement('p', 'govuk-body portal-timeout-dialog__error')
    error.setAttribute('role', 'alert')
    error.hidden = true

    const actions = createElement('div', 'govuk-button-group')
    const stay = createElement('button', 'govuk-button', 'Stay signed in')
    stay.type = 'button'
    actions.append(stay)
    if (this.signoutUrl) {
      // Signing out changes state on the server: a POST with the CSRF token, never a link.
      const signout = createElement('button', 'govuk-button govuk-button--secondary', 'Sign out')
      signout.type = 'button'
      signout.addEventListener('click', () => this.postSignOut({}))
      actions.append(signout)
    }

    dialog.append(heading, message, live, error, actions)
    document.body.append(dialog)

    stay.addEventListener('click', () => this.staySignedIn())
    // Esc means "stay signed in".
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault()
      this.staySignedIn()
    })
    // If the browser closes the dialog anyway (some browsers ignore
    // preventDefault on a repeated Esc), treat it the same way.
    // The close event is dispatched asynchronously, so closes made by this
    // script are flagged in closeDialog() and skipped here.
    dialog.addEventListener('close', () => {
      if (this.closedByScript) {
        this.closedByScript = false
        return
      }
      if (!this.finished && this.remainingMs() <= this.warningMs) {
        this.staySignedIn()
      }
    })

    this.dialog = dialog
    this.heading = heading
    this.countdown = countdown
    this.live = live
    this.error = error
    this.stayButton = stay
  }

  start() {
    this.onActivityEvent = (event) => {
      const at = event.detail && Number(event.detail.at)
      this.recordActivity(Number.isFinite(at) && at > 0 ? at : Date.now())
    }
    this.onWake = () => {
      if (document.visibilityState !== 'hidden') this.schedule()
    }
    document.addEventListener(ACTIVITY_EVENT, this.onActivityEvent)
    document.addEventListener('visibilitychange', this.onWake)
    window.addEventListener('pageshow', this.onWake)
    window.addEventListener('focus', this.onWake)

    if (typeof BroadcastChannel === 'function') {
      this.channel = new BroadcastChannel(CHANNEL_NAME)
      this.channel.addEventListener('message', (event) => {
        const data = event.data
        if (data && data.type === 'activity' && Number.isFinite(data.at)) {
          this.reset(data.at)
        }
      })
      this.broadcast(this.lastActivity)
    }

    this.schedule()
  }

  destroy() {
    this.finished = true
    clearTimeout(this.timer)
    document.removeEventListener(ACTIVITY_EVENT, this.onActivityEvent)
    document.removeEventListener('visibilitychange', this.onWake)
    window.removeEventListener('pageshow', this.onWake)
    window.removeEventListener('focus', this.onWake)
    if (this.channel) this.channel.close()
    if (this.dialog) {
      this.closeDialog()
      this.dialog.remove()
    }
    if (instance === this) instance = null
  }

  broadcast(at) {
    if (!this.channel) return
    try {
      this.channel.postMessage({ type: 'activity', at })
    } catch {
      // Ignore: other tabs will time out on their own schedule.
    }
  }

  /** The server has seen a request at `at` (ms since the epoch). */
  recordActivity(at) {
    this.reset(at)
    this.broadcast(at)
  }

  reset(at) {
    if (this.finished) return
    if (at > this.lastActivity) this.lastActivity = at
    this.schedule()
  }

  remainingMs() {
    return this.lastActivity + this.timeoutMs - Date.now()
  }

  schedule() {
    if (this.finished) return
    clearTimeout(this.timer)

    const remaining = this.remainingMs()
    if (remaining <= 0) {
      this.timeOut()
      return
    }

    let wait
    if (this.dialog && remaining <= this.warningMs) {
      if (!this.dialog.open) this.openDialog()
      this.updateCountdown(remaining)
      // Wake on the next whole second of the countdown.
      wait = remaining % 1000 || 1000
    } else {
      if (this.dialog && this.dialog.open) this.closeDialog()
      wait = this.dialog ? remaining - this.warningMs : remaining
    }
    this.timer = setTimeout(() => this.schedule(), Math.max(wait, 50))
  }

  openDialog() {
    const active = document.activeElement
    this.returnFocus = active && active !== document.body ? active : null
    this.lastAnnounce = Date.now()
    this.live.textContent = ''
    this.dialog.showModal()
    this.heading.focus()
  }

  closeDialog() {
    if (!this.dialog || !this.dialog.open) return
    this.closedByScript = true
    this.dialog.close()
    this.showError('')
    const target = this.returnFocus
    this.returnFocus = null
    if (target && target.isConnected && typeof target.focus === 'function') {
      target.focus()
    }
  }

  updateCountdown(remainingMs) {
    const seconds = Math.ceil(remainingMs / 1000)
    this.countdown.textContent = formatRemaining(seconds)
    const now = Date.now()
    if (now - this.lastAnnounce >= ANNOUNCE_INTERVAL_MS) {
      this.live.textContent = messageFor(seconds)
      this.lastAnnounce = now
    }
  }

  showError(text) {
    if (!this.error) return
    this.error.textContent = text
    this.error.hidden = !text
  }

  async staySignedIn() {
    if (this.busy || this.finished) return
    if (!this.keepaliveUrl) {
      // Without a keepalive endpoint, a fresh page load resets the session.
      window.location.reload()
      return
    }

    this.busy = true
    this.stayButton.setAttribute('aria-disabled', 'true')
    this.showError('')
    const sentAt = Date.now()
    try {
      const response = await fetch(this.keepaliveUrl, {
        method: 'POST',
        credentials: 'same-origin',
        cache: 'no-store',
        headers: {
          'X-CSRFToken': getCsrfToken(this.csrfCookieName),
          'X-Requested-With': 'XMLHttpRequest',
          Accept: 'application/json'
        }
      })
      if (response.ok && !response.redirected) {
        // The server reset its clock no earlier than when we sent this.
        this.recordActivity(sentAt)
      } else if (response.redirected || response.status === 401) {
        // The session has already gone (login_required redirects to the
        // sign-in page). A 403 is treated as a retryable error rather than
        // a sign-out, as it is also what a CSRF failure looks like.
        this.timeOut()
      } else {
        throw new Error(`Keepalive failed with HTTP ${response.status}`)
      }
    } catch {
      this.showError(
        'Sorry, there is a problem keeping you signed in. Try again.'
      )
      // Reopen the warning if the browser closed it (e.g. on Esc).
      this.schedule()
    } finally {
      this.busy = false
      this.stayButton.removeAttribute('aria-disabled')
    }
  }

  timeOut() {
    if (this.finished) return
    this.finished = true
    clearTimeout(this.timer)
    if (this.signoutUrl) {
      this.postSignOut({ reason: 'timeout' })
    } else {
      window.location.reload()
    }
  }

  // Submit a real form (CSP-safe: form-action 'self'), so the server ends the session and
  // records why, then shows the signed-out or timed-out page.
  postSignOut(fields) {
    const form = document.createElement('form')
    form.method = 'post'
    form.action = this.signoutUrl
    form.hidden = true
    const values = { csrfmiddlewaretoken: getCsrfToken(this.csrfCookieName) || '', ...fields }
    for (const [name, value] of Object.entries(values)) {
      const input = document.createElement('input')
      input.type = 'hidden'
      input.name = name
      input.value = value
      form.append(input)
    }
    document.body.append(form)
    form.submit()
  }
}

/**
 * Start the timeout warning for this page, configured from
 * document.body.dataset. Returns the controller, or null when the page has
 * no data-timeout-seconds (for example, when signed out).
 */
export function initTimeoutWarning() {
  if (instance) return instance
  const body = document.body
  if (!body) return null
  const data = body.dataset

  const timeoutSeconds = parseSeconds(data.timeoutSeconds)
  if (!(timeoutSeconds > 0)) return null

  let warningSeconds = parseSeconds(data.warningSeconds)
  if (!(warningSeconds >= 0)) warningSeconds = DEFAULT_WARNING_SECONDS
  warningSeconds = Math.min(warningSeconds, timeoutSeconds)

  instance = new TimeoutWarning({
    timeoutSeconds,
    warningSeconds,
    keepaliveUrl: data.keepaliveUrl || '',
    signoutUrl: data.signoutUrl || '',
    csrfCookieName: data.csrfCookieName || ''
  })
  instance.start()
  return instance
}

/**
 * Tell the timeout warning that the server has just handled a request from
 * this session (e.g. after a successful fetch). `at` defaults to now.
 */
export function notifySessionActivity(at = Date.now()) {
  document.dispatchEvent(new CustomEvent(ACTIVITY_EVENT, { detail: { at } }))
}
