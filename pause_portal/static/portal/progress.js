// The import's progress bar: polls the extract's progress address (JSON, no personal data) and
// reloads the page once the import has finished, to show its summary.
const box = document.querySelector('[data-progress-url]')
if (box) {
  const bar = document.getElementById('progress-bar')
  const label = document.getElementById('progress-label')
  const status = document.getElementById('progress-status')
  let lastAnnounced = -1
  const poll = async () => {
    try {
      const response = await fetch(box.dataset.progressUrl, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      if (!response.ok) throw new Error(String(response.status))
      const data = await response.json()
      bar.value = data.percent
      bar.textContent = `${data.percent}%`
      label.textContent = data.stage
      // Announce in steps of 10%, not every poll.
      if (Math.floor(data.percent / 10) !== Math.floor(lastAnnounced / 10)) {
        status.textContent = `${data.percent}% done. This page updates by itself.`
        lastAnnounced = data.percent
      }
      if (data.finished) {
        window.location.reload()
        return
      }
    } catch (error) {
      status.textContent = 'Progress could not be checked just now. Trying again.'
    }
    window.setTimeout(poll, 1000)
  }
  window.setTimeout(poll, 500)
}
