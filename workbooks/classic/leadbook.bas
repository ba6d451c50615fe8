Attribute VB_Name = "leadbook"
' leadbook's buttons for the classic xlwings add-in (Windows, desktop Excel).
' Import this file in the VBA editor (Alt+F11, File > Import File...), tick
' Tools > References > xlwings, then assign each macro to a button
' (Developer > Insert > Button): LeadbookCheckInputs on the Start tab,
' LeadbookRefresh on the Tiers tab, LeadbookRebalance on the Allocation tab,
' LeadbookCompareScenarios on the What-if tab,
' LeadbookRefreshForecast on the Forecast tab, LeadbookPlanHiring on the Hiring tab,
' LeadbookScoreLeads on the Leads tab, LeadbookExportBoardPack on the Board tab,
' LeadbookUndo on the Log tab. Each runs the same job as the command line.

Sub LeadbookCheckInputs()
    RunPython "import udfs.scripts as s; s.check_inputs_caller()"
End Sub

Sub LeadbookRefresh()
    RunPython "import udfs.scripts as s; s.refresh_caller()"
End Sub

Sub LeadbookRebalance()
    RunPython "import udfs.scripts as s; s.rebalance_caller()"
End Sub

Sub LeadbookCompareScenarios()
    RunPython "import udfs.scripts as s; s.compare_scenarios_caller()"
End Sub

Sub LeadbookRefreshForecast()
    RunPython "import udfs.scripts as s; s.refresh_forecast_caller()"
End Sub

Sub LeadbookPlanHiring()
    RunPython "import udfs.scripts as s; s.plan_hiring_caller()"
End Sub

Sub LeadbookScoreLeads()
    RunPython "import udfs.scripts as s; s.score_leads_caller()"
End Sub

Sub LeadbookScoreLeadsRetrain()
    RunPython "import udfs.scripts as s; s.score_leads_retrain_caller()"
End Sub

Sub LeadbookExportBoardPack()
    RunPython "import udfs.scripts as s; s.export_board_pack_caller()"
End Sub

Sub LeadbookUndo()
    RunPython "import udfs.scripts as s; s.undo_caller()"
End Sub
