# SyncTray's dialogs on Windows (powershell -File windows.ps1 OP TITLE ...), as linux.sh:
#   folder TITLE START | choose TITLE TEXT VALUE DESCRIPTION... | confirm TITLE TEXT OK-LABEL | message TITLE TEXT
#   entry TITLE TEXT INITIAL | pick TITLE TEXT NUMBER ROW... (several rows may be chosen; writes their
#   numbers, |-separated)
# Only the Linux script is run by the tests (on Xvfb); this one follows it and is untested here.
# Writes the answer; exit 1 when cancelled.
param([string]$Op, [string]$Title, [Parameter(ValueFromRemainingArguments = $true)][string[]]$Rest)
Add-Type -AssemblyName System.Windows.Forms

# A form with `$text` above a list and an OK button under it; its ShowDialog() says OK when OK was pressed.
function New-ListForm([string]$text, [int]$width, [int]$height) {
  $form = New-Object System.Windows.Forms.Form
  $form.Text = $Title; $form.Width = $width; $form.Height = $height; $form.StartPosition = 'CenterScreen'
  $label = New-Object System.Windows.Forms.Label
  $label.Text = $text; $label.Dock = 'Top'; $label.Height = 30
  $list = New-Object System.Windows.Forms.ListBox
  $list.Dock = 'Fill'
  $ok = New-Object System.Windows.Forms.Button
  $ok.Text = 'OK'; $ok.Dock = 'Bottom'; $ok.DialogResult = 'OK'
  $form.Controls.AddRange(@($list, $label, $ok)); $form.AcceptButton = $ok
  return @{ Form = $form; List = $list }
}

switch ($Op) {
  'folder' {
    $d = New-Object System.Windows.Forms.FolderBrowserDialog
    $d.Description = $Title
    $d.SelectedPath = $Rest[0]
    if ($d.ShowDialog() -ne 'OK') { exit 1 }
    Write-Output $d.SelectedPath
  }
  'choose' {
    $shown = New-ListForm $Rest[0] 640 300
    $list = $shown.List
    for ($i = 1; $i -lt $Rest.Count; $i += 2) { [void]$list.Items.Add($Rest[$i] + ': ' + $Rest[$i + 1]) }
    $list.SelectedIndex = 0
    if ($shown.Form.ShowDialog() -ne 'OK' -or $list.SelectedIndex -lt 0) { exit 1 }
    Write-Output (($list.SelectedItem -split ':')[0])
  }
  'confirm' {
    $r = [System.Windows.Forms.MessageBox]::Show($Rest[0], $Title, 'OKCancel')
    if ($r -ne 'OK') { exit 1 }
    Write-Output 'yes'
  }
  'message' { [void][System.Windows.Forms.MessageBox]::Show($Rest[0], $Title) }
  'entry' {
    Add-Type -AssemblyName Microsoft.VisualBasic
    $answer = [Microsoft.VisualBasic.Interaction]::InputBox($Rest[0], $Title, $Rest[1])
    if ($answer -eq '') { exit 1 }
    Write-Output $answer
  }
  'pick' {
    $shown = New-ListForm $Rest[0] 900 560
    $list = $shown.List
    $list.SelectionMode = 'MultiExtended'
    $numbers = @()
    for ($i = 1; $i -lt $Rest.Count; $i += 2) { $numbers += $Rest[$i]; [void]$list.Items.Add($Rest[$i + 1]) }
    if ($shown.Form.ShowDialog() -ne 'OK' -or $list.SelectedIndices.Count -eq 0) { exit 1 }
    Write-Output (($list.SelectedIndices | ForEach-Object { $numbers[$_] }) -join '|')
  }
}
